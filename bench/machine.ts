/**
 * What machine a benchmark ran on: cores, CPU model, memory, OS, Deno, the
 * file system the temp brokers lived on, and the load when it started.
 *
 * Requires `--allow-read` (for `/proc` and `/etc/os-release`), `--allow-sys`
 * and `--allow-env=TMPDIR`.
 *
 * @module
 */

/** A description of the machine, each field ready to print. */
export interface MachineInfo {
  /** Logical CPU count. */
  cores: number;
  /** CPU model name, from `/proc/cpuinfo`. */
  cpu: string;
  /** Total memory, e.g. `23.5 GiB`. */
  ram: string;
  /** Distribution and kernel, e.g. `Debian GNU/Linux 12 (bookworm), Linux 6.1`. */
  os: string;
  /** Deno, V8 and TypeScript versions. */
  deno: string;
  /** File system type of the directory the temp brokers are created in. */
  tempFs: string;
  /** 1-minute load average when the run started. */
  load: string;
  /** ISO-8601 time the run started. */
  date: string;
}

function readOr(path: string, fallback: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return fallback;
  }
}

function cpuModel(): string {
  const info = readOr("/proc/cpuinfo", "");
  return info.match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ??
    `unknown (${Deno.build.arch})`;
}

function osName(): string {
  const release = readOr("/etc/os-release", "");
  const name = release.match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1] ??
    Deno.build.os;
  return `${name}, ${Deno.build.os} ${Deno.osRelease()} (${Deno.build.arch})`;
}

/** The file system type of the mount holding `path` (longest mount prefix). */
function fsType(path: string): string {
  let best = { point: "", type: "unknown" };
  for (const line of readOr("/proc/mounts", "").split("\n")) {
    const [, point, type] = line.split(" ");
    if (!point || !type) continue;
    const covers = point === "/" || path === point ||
      path.startsWith(point + "/");
    if (covers && point.length >= best.point.length) best = { point, type };
  }
  return `${best.type} (${path})`;
}

function tempDir(): string {
  const dir = Deno.env.get("TMPDIR") || "/tmp";
  try {
    return Deno.realPathSync(dir);
  } catch {
    return dir;
  }
}

/**
 * Describes this machine.
 *
 * @returns Cores, CPU, memory, OS, Deno versions, temp file system, load and
 * date.
 *
 * @example Usage
 * ```ts ignore
 * import { machineInfo } from "./machine.ts";
 * console.log(machineInfo().cores);
 * ```
 */
export function machineInfo(): MachineInfo {
  const gib = Deno.systemMemoryInfo().total / 2 ** 30;
  const v = Deno.version;
  return {
    cores: navigator.hardwareConcurrency,
    cpu: cpuModel(),
    ram: `${gib.toFixed(1)} GiB`,
    os: osName(),
    deno: `deno ${v.deno}, V8 ${v.v8}, TypeScript ${v.typescript}`,
    tempFs: fsType(tempDir()),
    load: Deno.loadavg()[0].toFixed(2),
    date: new Date().toISOString(),
  };
}
