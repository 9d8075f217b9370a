/**
 * Surgical edits of JSON and JSONC files: insert, replace or remove one
 * property or array element while every other byte — comments, formatting,
 * key order, trailing commas — stays exactly as it was. (A parse → modify →
 * stringify round trip would reformat the user's file; `jsonc-parser`'s own
 * `modify` reformats the neighbouring lines.) Inserting and then removing the
 * same entry restores the original text.
 *
 * @module
 */

import {
  type Node,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from "jsonc-parser";
import { ConfigParseError, ConfigShapeError } from "./errors.ts";

/** A path into a JSON document: property names and array indexes. */
export type JsonPath = readonly (string | number)[];

/** An editable JSON/JSONC document. */
export class JsonDocument {
  /** The file the text came from (for error messages). */
  readonly file: string;
  #text: string;
  #root: Node;

  /**
   * Parses `text`; an empty or whitespace-only text is an empty object.
   *
   * @param file Path of the file, for errors.
   * @param text Its contents.
   * @throws {ConfigParseError} When the text is not valid JSONC.
   * @throws {ConfigShapeError} When the top level is not an object.
   */
  constructor(file: string, text: string) {
    this.file = file;
    this.#text = text.trim() === "" ? "{}\n" : text;
    this.#root = this.#parse();
  }

  /** The current text. */
  get text(): string {
    return this.#text;
  }

  /** The current value, as plain data. */
  get value(): Record<string, unknown> {
    return nodeValue(this.#root) as Record<string, unknown>;
  }

  /**
   * Reads the value at `path`, or `undefined` when absent.
   *
   * @param path Where.
   * @returns The value.
   */
  get(path: JsonPath): unknown {
    const node = this.#find(path);
    return node ? nodeValue(node) : undefined;
  }

  /**
   * Sets `path` to `value`, creating missing parent objects. An existing
   * value is replaced in place; a new property goes before the first one.
   *
   * @param path Property path (the last element a property name).
   * @param value Any JSON value.
   */
  set(path: JsonPath, value: unknown): void {
    const existing = this.#find(path);
    if (existing) {
      const indent = this.#indentOf(existing.offset);
      this.#splice(
        existing.offset,
        existing.length,
        formatValue(value, indent, this.#unit()),
      );
      return;
    }
    // Find the deepest existing ancestor, then insert the rest as one value.
    let depth = path.length - 1;
    while (depth > 0 && !this.#find(path.slice(0, depth))) depth--;
    const parent = depth === 0 ? this.#root : this.#find(path.slice(0, depth))!;
    if (parent.type !== "object") {
      throw new ConfigShapeError(
        this.file,
        `${describe(path.slice(0, depth))} is not an object`,
      );
    }
    let nested: unknown = value;
    for (let i = path.length - 1; i > depth; i--) {
      nested = { [path[i] as string]: nested };
    }
    this.#insertMember(parent, JSON.stringify(path[depth]), nested);
  }

  /**
   * Adds `value` to the array at `path` (as its first element, so no
   * existing line changes), creating the array if needed.
   *
   * @param path Array path.
   * @param value Element to append.
   */
  add(path: JsonPath, value: unknown): void {
    const array = this.#find(path);
    if (!array) {
      this.set(path, [value]);
      return;
    }
    if (array.type !== "array") {
      throw new ConfigShapeError(
        this.file,
        `${describe(path)} is not an array`,
      );
    }
    this.#insertMember(array, null, value);
  }

  /**
   * Removes the property or element at `path`. With `prune`, a parent object
   * or array that this leaves empty is removed too (it held only what is
   * being removed, as when {@linkcode JsonDocument.set} created it). Absent
   * paths are ignored.
   *
   * @param path What to remove.
   * @param prune Also remove parents left empty (never the top level).
   * @returns Whether anything was removed.
   */
  remove(path: JsonPath, prune = true): boolean {
    const node = this.#find(path);
    if (!node) return false;
    const member = node.parent?.type === "property" ? node.parent : node;
    const container = member.parent!;
    const siblings = container.children!;
    const at = siblings.indexOf(member);
    if (siblings.length === 1) {
      if (prune && path.length > 1) {
        return this.remove(path.slice(0, -1), prune);
      }
      this.#splice(container.offset + 1, container.length - 2, "");
      return true;
    }
    if (at > 0) {
      // From the end of the previous sibling through this member: that takes
      // the separating comma and whatever whitespace an insert added.
      const previous = siblings[at - 1];
      const start = previous.offset + previous.length;
      this.#splice(start, member.offset + member.length - start, "");
    } else {
      const next = siblings[1];
      this.#splice(member.offset, next.offset - member.offset, "");
    }
    return true;
  }

  #parse(): Node {
    const errors: ParseError[] = [];
    const root = parseTree(this.#text, errors, {
      allowTrailingComma: true,
      disallowComments: false,
    });
    if (errors.length > 0 || !root) {
      const error = errors[0];
      const { line, column } = lineColumn(this.#text, error?.offset ?? 0);
      throw new ConfigParseError(
        this.file,
        line,
        column,
        error ? printParseErrorCode(error.error) : "empty document",
      );
    }
    if (root.type !== "object") {
      throw new ConfigShapeError(this.file, "the top level is not an object");
    }
    return root;
  }

  #find(path: JsonPath): Node | undefined {
    let node: Node | undefined = this.#root;
    for (const key of path) {
      if (!node) return undefined;
      if (typeof key === "number") {
        node = node.type === "array" ? node.children?.[key] : undefined;
      } else if (node.type === "object") {
        const property: Node | undefined = node.children?.find((p) =>
          p.children?.[0].value === key
        );
        node = property?.children?.[1];
      } else {
        return undefined;
      }
    }
    return node;
  }

  /** Inserts a member (`"key": value`, or an array element). */
  #insertMember(container: Node, key: string | null, value: unknown): void {
    const unit = this.#unit();
    const children = container.children ?? [];
    const prefix = key === null ? "" : `${key}: `;
    if (children.length === 0) {
      const outer = this.#indentOf(container.offset);
      const inner = outer + unit;
      this.#splice(
        container.offset + 1,
        container.length - 2,
        `\n${inner}${prefix}${formatValue(value, inner, unit)}\n${outer}`,
      );
      return;
    }
    // Insert before the first member: every existing line stays
    // byte-identical (appending would add a comma to the last one).
    const first = children[0];
    const sameLine = !this.#text.slice(
      container.offset,
      children.at(-1)!.offset,
    )
      .includes("\n");
    if (sameLine) {
      this.#splice(first.offset, 0, `${prefix}${JSON.stringify(value)}, `);
      return;
    }
    const inner = this.#indentOf(first.offset);
    this.#splice(
      first.offset,
      0,
      `${prefix}${formatValue(value, inner, unit)},\n${inner}`,
    );
  }

  #splice(offset: number, length: number, insert: string): void {
    this.#text = this.#text.slice(0, offset) + insert +
      this.#text.slice(offset + length);
    this.#root = this.#parse();
  }

  /** Indentation of the line holding `offset`. */
  #indentOf(offset: number): string {
    const lineStart = this.#text.lastIndexOf("\n", offset - 1) + 1;
    return this.#text.slice(lineStart).match(/^[ \t]*/)![0];
  }

  /** The file's indentation unit (first indented line), else two spaces. */
  #unit(): string {
    const match = this.#text.match(/\n([ \t]+)\S/);
    if (!match) return "  ";
    return match[1].startsWith("\t") ? "\t" : match[1];
  }
}

function nodeValue(node: Node): unknown {
  switch (node.type) {
    case "object":
      return Object.fromEntries(
        (node.children ?? []).map((p) => [
          p.children![0].value,
          p.children![1] ? nodeValue(p.children![1]) : undefined,
        ]),
      );
    case "array":
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value;
  }
}

/** JSON text of `value`, indented to sit at `indent` with `unit` per level. */
function formatValue(value: unknown, indent: string, unit: string): string {
  return JSON.stringify(value, null, unit).replace(/\n/g, `\n${indent}`);
}

function describe(path: JsonPath): string {
  return path.length === 0 ? "the top level" : `'${path.join(".")}'`;
}

function lineColumn(text: string, offset: number): {
  line: number;
  column: number;
} {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
