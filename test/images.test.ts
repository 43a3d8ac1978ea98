// The content tag: the same code gives the same tag, any change to what the build sees gives
// a new one, and what .dockerignore excludes does not count.
import { appendFileSync, chmodSync, cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
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

test("changes with the Dockerfile, even when .dockerignore leaves it out of the context", () => {
    writeFileSync(path.join(context, ".dockerignore"), "Dockerfile\n.dockerignore\n");
    const before = contentTag(context, args);
    appendFileSync(path.join(context, "Dockerfile"), 'CMD ["python", "src/main.py"]\n');
    expect(contentTag(context, args)).not.toBe(before);
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

test("sees the files an exception brings back under an excluded directory (`*` then `!src/app/**`)", () => {
    writeFileSync(path.join(context, ".dockerignore"), "*\n!requirements.lock\n!src/app/**\n**/__pycache__\n");
    mkdirSync(path.join(context, "src", "app"));
    writeFileSync(path.join(context, "src", "app", "main.py"), "print('v1')\n");
    const before = contentTag(context, args);
    writeFileSync(path.join(context, "src", "app", "main.py"), "print('v2')\n");
    const changed = contentTag(context, args);
    expect(changed).not.toBe(before);
    // Still excluded: outside the exception, and caches inside it.
    writeFileSync(path.join(context, "src", "main.py"), "print('not in the image')\n");
    mkdirSync(path.join(context, "src", "app", "__pycache__"));
    writeFileSync(path.join(context, "src", "app", "__pycache__", "main.pyc"), "bytecode");
    expect(contentTag(context, args)).toBe(changed);
});

test("the backend's real context: a change to its package sources gives a new tag", () => {
    const backend = path.join(__dirname, "..", "apps", "backend");
    const copy = path.join(context, "backend");
    cpSync(backend, copy, { recursive: true, filter: (source) => !source.includes("__pycache__") });
    const before = contentTag(copy, args);
    appendFileSync(path.join(copy, "src", "todo_api", "__init__.py"), "# changed\n");
    const changed = contentTag(copy, args);
    expect(changed).not.toBe(before);
    writeFileSync(path.join(copy, "README.md"), "not in the image\n");
    expect(contentTag(copy, args)).toBe(changed);
});
