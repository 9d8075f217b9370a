// Private helper of the JSON-configured client modules: apply edits to one
// file's text and describe the result as a FileChange.

import { JsonDocument } from "./json_edit.ts";
import type { FileChange, FileReader } from "./plan.ts";

/**
 * Runs `edit` on the document at `path` (an absent file starts as `{}`).
 * On uninstall a file left as an empty object is deleted.
 */
export function editJsonFile(
  path: string,
  read: FileReader,
  edit: (doc: JsonDocument, summary: string[]) => void,
  deleteIfEmpty = false,
): FileChange {
  const before = read(path);
  const doc = new JsonDocument(path, before ?? "");
  const summary: string[] = [];
  edit(doc, summary);
  let after: string | null = summary.length ? doc.text : before;
  if (
    deleteIfEmpty && summary.length && Object.keys(doc.value).length === 0
  ) {
    after = null;
  }
  return { path, before, after, summary };
}
