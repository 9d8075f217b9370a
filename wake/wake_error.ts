/**
 * The error every native wake path raises: a socket that is missing or
 * refuses, a daemon that answers with an error, a handshake that fails. The
 * server's waker catches it, leaves the messages where they are (or puts
 * them back) and tries again later; a send never sees it.
 *
 * @module
 */

import { C2cError } from "../lib/errors.ts";

/** A wake that could not be delivered; the message says where and why. */
export class WakeError extends C2cError {
  /**
   * Creates the error.
   *
   * @param message What failed, naming the socket or thread, and what to do.
   */
  constructor(message: string) {
    super("wake", message);
  }
}
