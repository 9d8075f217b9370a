/**
 * Errors of `c2c setup`: each names the client config file at fault, and the
 * file is never touched when one is raised.
 *
 * @module
 */

import { C2cError } from "../lib/errors.ts";

/** A client config file that does not parse. */
export class ConfigParseError extends C2cError {
  /** The file. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param path The file.
   * @param line 1-based line of the problem.
   * @param column 1-based column.
   * @param detail What the parser said.
   */
  constructor(path: string, line: number, column: number, detail: string) {
    super(
      "config_parse",
      `${path}:${line}:${column}: cannot parse (${detail}); fix the file and run setup again — it was left untouched`,
    );
    this.path = path;
  }
}

/** A client config file that parses but has an unexpected shape. */
export class ConfigShapeError extends C2cError {
  /** The file. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param path The file.
   * @param detail What is unexpected.
   */
  constructor(path: string, detail: string) {
    super(
      "config_shape",
      `${path}: ${detail}; fix the file and run setup again — it was left untouched`,
    );
    this.path = path;
  }
}

/** An existing c2c entry that differs from what setup would write. */
export class SetupConflictError extends C2cError {
  /** The file. */
  readonly path: string;
  /**
   * Creates the error.
   *
   * @param path The file.
   * @param what Which entry differs (e.g. `mcpServers.c2c`).
   */
  constructor(path: string, what: string) {
    super(
      "setup_conflict",
      `${path}: an existing ${what} differs from what setup would write; rerun with --force to replace it (the old file is backed up), or --dry-run to see the change`,
    );
    this.path = path;
  }
}

/** Setup options that do not go together (e.g. `--rewake` for Codex). */
export class SetupOptionError extends C2cError {
  /**
   * Creates the error.
   *
   * @param message What is wrong and what to run instead.
   */
  constructor(message: string) {
    super("invalid_argument", message);
  }
}
