// The content tag: the same code gives the same tag, any change to what the build sees gives
// a new one, and what .dockerignore excludes does not count.
import { chmodSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import { contentTag } from "../components/images";

let context: string;

beforeEach(() => {
    context = mkdtempSync(path.join(tmpdir(), "todo-context-"));
    writeFileSync(path.join(context, "Dockerfile"), "ARG PYTHON_IMAGE=python:3.12-alpine\nFROM ${PYTHON_IMAGE}\n");
    writeFileSync(path.join(context, ".dockerignore"), "node_modules\n*.log\n!keep.log\n");
    mkdirSync(path.join(context, "src"));
    writeFileSync(path.join(context, "src", "main.py"), "print('hello')\n");
});

afterEach(() => {
    rmSync(context, { recursive: true, force: true });
});

const args = { PYTHON_IMAGE: "python:3.12-alpine" };

test("is 12 hex digits and stable for the same content", () => {
    const tag = contentTag(context, args);
    expect(tag).toMatch(/^[0-9a-f]{12}$/);
    expect(contentTag(context, args)).toBe(tag);
});

test("changes when a source file changes, is added, or becomes executable", () => {
    const tags = new Set([contentTag(context, args)]);
    writeFileSync(path.join(context, "src", "main.py"), "print('hello, world')\n");
    tags.add(contentTag(context, args));
    writeFileSync(path.join(context, "src", "extra.py"), "\n");
    tags.add(contentTag(context, args));
    chmodSync(path.join(context, "src", "extra.py"), 0o755);
    tags.add(contentTag(context, args));
    expect(tags.size).toBe(4);
});

test("changes with the build args (another base image is another image)", () => {
    expect(contentTag(context, { PYTHON_IMAGE: "todo-base/python:3.12" })).not.toBe(contentTag(context, args));
});

test("ignores what .dockerignore excludes, and honours its exceptions", () => {
    const before = contentTag(context, args);
    mkdirSync(path.join(context, "node_modules"));
    writeFileSync(path.join(context, "node_modules", "dep.js"), "x");
    writeFileSync(path.join(context, "debug.log"), "noise");
    expect(contentTag(context, args)).toBe(before);
    writeFileSync(path.join(context, "keep.log"), "kept");
    expect(contentTag(context, args)).not.toBe(before);
});
