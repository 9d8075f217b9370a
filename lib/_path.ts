// Private: the little path arithmetic the launcher's import graph needs.
// `node:path` would do, but importing any `node:` module starts Deno's Node
// compatibility layer, which costs every `c2c` call several milliseconds.

/** Joins segments with `/` and normalises `.` and `..` lexically. */
export function joinPath(...parts: string[]): string {
  const absolute = parts[0]?.startsWith("/") ?? false;
  const out: string[] = [];
  for (const segment of parts.join("/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out.at(-1) !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(segment);
  }
  return (absolute ? "/" : "") + out.join("/") || (absolute ? "/" : ".");
}

/** `path` made absolute against `cwd` (like `path.resolve(cwd, path)`). */
export function absolutePath(cwd: string, path: string): string {
  return path.startsWith("/") ? joinPath(path) : joinPath(cwd, path);
}

/** The directory part of a path (like `path.dirname`). */
export function dirPath(path: string): string {
  const normal = joinPath(path);
  const at = normal.lastIndexOf("/");
  if (at === -1) return ".";
  return at === 0 ? "/" : normal.slice(0, at);
}
