// The change a rollout ships: an "expand" step, as the migration rules of the backend ask
// (apps/backend/README.md, "Changing the schema"). A new nullable column, a migration adding it,
// and new code that writes it on every new todo; code from before the change keeps working on
// the expanded schema, so a rollback needs no migration back. The new code also names itself in
// a response header on every answer, so a check can tell which release answered it (the code
// from before the change sends no such header).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export const ROLLOUT_COLUMN = "source_release";
/** The response header in which the new release names itself (lower case, as fetch reads it); the previous release sends none. */
export const RELEASE_HEADER = "x-e2e-release";

const packageDir = (projectDir: string): string => path.join(projectDir, "apps", "backend", "src", "todo_api");

/** Replaces the one occurrence of ANCHOR in FILE; the suite's patch must fail loudly once the code moves. */
function patchOnce(file: string, anchor: string, replacement: string): void {
    const text = readFileSync(file, "utf8");
    if (text.includes(replacement)) throw new Error(`the rollout change is in ${file} already: a path changes its own copy once`);
    const occurrences = text.split(anchor).length - 1;
    if (occurrences !== 1) {
        throw new Error(`the rollout change expects ${JSON.stringify(anchor)} once in ${file}, found it ${occurrences} times: update e2e/support/rollout.ts`);
    }
    writeFileSync(file, text.replace(anchor, replacement));
}

/** Replaces each of the EXPECTED matches of PATTERN (a global regular expression) in FILE. */
function patchEach(file: string, pattern: RegExp, replacement: string, expected: number): void {
    const text = readFileSync(file, "utf8");
    const occurrences = [...text.matchAll(pattern)].length;
    if (occurrences !== expected) {
        throw new Error(`the rollout change expects ${String(pattern)} ${expected} times in ${file}, found it ${occurrences} times: update e2e/support/rollout.ts`);
    }
    writeFileSync(file, text.replace(pattern, replacement));
}

/** The newest migration: the revision no other one revises. */
export function headRevision(projectDir: string): string {
    const versions = path.join(packageDir(projectDir), "migrations", "versions");
    const revisions = new Map<string, string | undefined>();
    for (const file of readdirSync(versions).filter((name) => name.endsWith(".py"))) {
        const text = readFileSync(path.join(versions, file), "utf8");
        const revision = /^revision(?::[^=]+)?\s*=\s*"([^"]+)"/m.exec(text)?.[1];
        const revises = /^down_revision(?::[^=]+)?\s*=\s*"([^"]+)"/m.exec(text)?.[1];
        if (revision) revisions.set(revision, revises);
    }
    const revised = new Set(revisions.values());
    const heads = [...revisions.keys()].filter((revision) => !revised.has(revision));
    const [head, ...others] = heads;
    if (head === undefined || others.length > 0) throw new Error(`expected one migration head in ${versions}, found ${JSON.stringify(heads)}`);
    return head;
}

/** Applies the expand change to the program's copy; every todo the new code creates carries RELEASE. */
export function applyExpandChange(projectDir: string, release: string): void {
    if (!/^[\w-]+$/.test(release)) throw new Error(`the release name ${JSON.stringify(release)} must be a plain SQL and Python literal`);
    const dir = packageDir(projectDir);
    const updatedAt = 'Column("updated_at", DateTime(timezone=True), nullable=False),';
    patchOnce(path.join(dir, "tables.py"), updatedAt, `${updatedAt}\n    Column("${ROLLOUT_COLUMN}", String(64), nullable=True),`);
    patchOnce(path.join(dir, "store.py"), '"updated_at": now,', `"updated_at": now,\n            "${ROLLOUT_COLUMN}": "${release}",`);
    // PostgreSQL's creates run their own prepared statements (pgstore.py), one without a key and
    // one with an Idempotency-Key (every create from the frontend): both write the column too.
    patchEach(
        path.join(dir, "pgstore.py"),
        /INSERT INTO todos \(user_id, title, description, completed, created_at, updated_at\)\n(\s*)VALUES \(%\(owner_id\)s, %\(title\)s, %\(description\)s, false, %\(now\)s, %\(now\)s\)/g,
        `INSERT INTO todos (user_id, title, description, completed, created_at, updated_at, ${ROLLOUT_COLUMN})\n$1VALUES (%(owner_id)s, %(title)s, %(description)s, false, %(now)s, %(now)s, '${release}')`,
        2,
    );
    // Every answer names the release that made it: a plain ASGI middleware inside the outermost
    // one (ConnectionCloseMiddleware), so the 500s of RequestContextMiddleware carry it too.
    const outermost = "    # Outermost: every answer, the 500s of RequestContextMiddleware included.\n    app.add_middleware(ConnectionCloseMiddleware)";
    patchOnce(
        path.join(dir, "app.py"),
        outermost,
        [
            "    class E2eReleaseHeader:",
            "        def __init__(self, app):",
            "            self.app = app",
            "",
            "        async def __call__(self, scope, receive, send):",
            '            if scope["type"] != "http":',
            "                await self.app(scope, receive, send)",
            "                return",
            "",
            "            async def send_named(message):",
            '                if message["type"] == "http.response.start":',
            `                    named = (b"${RELEASE_HEADER}", b"${release}")`,
            '                    message = {**message, "headers": [*message.get("headers", []), named]}',
            "                await send(message)",
            "",
            "            await self.app(scope, receive, send_named)",
            "",
            "    app.add_middleware(E2eReleaseHeader)",
            outermost,
        ].join("\n"),
    );
    const head = headRevision(projectDir);
    writeFileSync(
        path.join(dir, "migrations", "versions", "9000_e2e_rollout_column.py"),
        [
            '"""End-to-end rollout: a nullable column the new release writes (an expand step)."""',
            "",
            "from __future__ import annotations",
            "",
            "import sqlalchemy as sa",
            "from alembic import op",
            "",
            'revision: str = "e2e_rollout_column"',
            `down_revision: str | None = "${head}"`,
            "",
            "",
            "def upgrade() -> None:",
            `    op.add_column("todos", sa.Column("${ROLLOUT_COLUMN}", sa.String(64), nullable=True))`,
            "",
            "",
            "def downgrade() -> None:",
            `    op.drop_column("todos", "${ROLLOUT_COLUMN}")`,
            "",
        ].join("\n"),
    );
}
