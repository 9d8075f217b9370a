// Installs pinned npm tools used by tests into a git-ignored cache folder,
// once: later runs (and CI after its first run) reuse the install.

import { REPO } from "./_helpers.ts";

/** Where pinned npm tools are installed. */
export const NPM_TOOLS_DIR = `${REPO}/.cache/npm-tools`;

/**
 * Installs `spec` (e.g. `pkg@1.2.3`) unless present; returns its bin path.
 *
 * @param spec Exact package spec.
 * @param bin Executable name in `node_modules/.bin`.
 */
export async function ensureNpmTool(
  spec: string,
  bin: string,
): Promise<string> {
  const dir = `${NPM_TOOLS_DIR}/${spec.replace(/[^A-Za-z0-9@.-]/g, "_")}`;
  const path = `${dir}/node_modules/.bin/${bin}`;
  try {
    await Deno.stat(path);
    return path;
  } catch { /* not installed yet */ }
  await Deno.mkdir(dir, { recursive: true });
  const out = await new Deno.Command("npm", {
    args: [
      "install",
      "--prefix",
      dir,
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      spec,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `npm install ${spec} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return path;
}
