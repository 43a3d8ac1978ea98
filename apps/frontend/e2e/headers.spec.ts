import { readFileSync } from "node:fs";
import { join } from "node:path";

import type { APIResponse } from "@playwright/test";

import { CHROMIUM_LAUNCH_OPTIONS } from "./support/browser";
import { addTodo, expect, signUp, test, uniqueEmail } from "./support/fixtures";
import { LOG_DIR } from "./support/paths";

/** The directives of a Content-Security-Policy header, by name. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(";")
      .map((directive) => directive.trim().split(/\s+/))
      .filter((parts): parts is [string, ...string[]] => parts[0] !== undefined && parts[0] !== "")
      .map(([name, ...values]) => [name, values]),
  );
}

function header(response: APIResponse, name: string): string {
  const value = response.headers()[name];
  expect(value, `${name} on ${response.url()}`).toBeDefined();
  return value ?? "";
}

test("a page answer carries a nonce-based CSP and the browser security headers", async ({ request }) => {
  const first = await request.get("/login");
  const second = await request.get("/login");
  expect(first.status()).toBe(200);

  const policy = directives(header(first, "content-security-policy"));
  const scriptSources = policy.get("script-src") ?? [];
  const nonce = scriptSources.find((source) => source.startsWith("'nonce-"))?.slice("'nonce-".length, -1);
  expect(nonce, "script-src names a nonce").toBeDefined();
  expect(scriptSources).toContain("'strict-dynamic'");
  expect(scriptSources).not.toContain("'unsafe-inline'");
  expect(scriptSources).not.toContain("'unsafe-eval'");
  expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
  expect(policy.get("object-src")).toEqual(["'none'"]);
  expect(policy.get("base-uri")).toEqual(["'self'"]);
  // Plain http here: upgrading would send every asset to an https port that is not there.
  expect(policy.has("upgrade-insecure-requests")).toBe(false);

  // Every script of the page carries this answer's nonce, and no two answers share one.
  const scripts = [...(await first.text()).matchAll(/<script\b[^>]*>/g)].map(([tag]) => tag);
  expect(scripts.length).toBeGreaterThan(0);
  for (const tag of scripts) expect(tag).toContain(`nonce="${nonce ?? ""}"`);
  expect(header(second, "content-security-policy")).not.toContain(`'nonce-${nonce ?? ""}'`);

  expect(header(first, "cross-origin-opener-policy")).toBe("same-origin");
  expect(header(first, "referrer-policy")).toBe("same-origin");
  expect(header(first, "x-content-type-options")).toBe("nosniff");
  expect(header(first, "permissions-policy")).toContain("camera=()");
  expect(first.headers()["strict-transport-security"], "no HSTS over plain http").toBeUndefined();
});

test("HSTS and upgrade-insecure-requests only when the request came over https", async ({ request }) => {
  const response = await request.get("/login", { headers: { "x-forwarded-proto": "https" } });
  expect(header(response, "strict-transport-security")).toMatch(/^max-age=\d{7,}/);
  expect(directives(header(response, "content-security-policy")).has("upgrade-insecure-requests")).toBe(true);
});

test("public pages may be kept for back and forward; a signed-in page is never stored", async ({ page }) => {
  for (const path of ["/login", "/signup"]) {
    const cacheControl = header(await page.request.get(path), "cache-control");
    expect(cacheControl, path).toContain("private");
    expect(cacheControl, path).not.toContain("no-store");
  }

  await signUp(page, uniqueEmail("headers"));
  const list = await page.request.get("/todos");
  expect(list.status()).toBe(200);
  expect(await list.text()).toContain("Your todos");
  expect(header(list, "cache-control")).toContain("no-store");
});

test("back/forward restores a public page from memory, never a list after logging out", async ({ browser, baseURL }) => {
  // Playwright turns the back/forward cache off by default; this test needs a browser that has it.
  const withCache = await browser.browserType().launch({
    ...CHROMIUM_LAUNCH_OPTIONS,
    ignoreDefaultArgs: ["--disable-back-forward-cache"],
  });
  try {
    const context = await withCache.newContext({ baseURL });
    const page = await context.newPage();
    /** Leaves the page for another document and comes back. */
    const leaveAndComeBack = async (path: string, meanwhile: () => Promise<void>) => {
      await page.goto(path);
      // Script state survives only in a page restored from the back/forward cache.
      await page.evaluate(() => {
        (window as { keptInMemory?: boolean }).keptInMemory = true;
      });
      await page.goto("/api/health");
      await meanwhile();
      // A restored page fires no load event.
      await page.goBack({ waitUntil: "commit" });
    };
    const restoredFromMemory = () => page.evaluate(() => (window as { keptInMemory?: boolean }).keptInMemory === true);

    for (const path of ["/login", "/signup"]) {
      await leaveAndComeBack(path, () => Promise.resolve());
      await expect(page).toHaveURL(new RegExp(`${path}$`));
      expect(await restoredFromMemory(), path).toBe(true);
    }

    // Someone logs out in another tab and leaves the computer; the next person presses Back.
    await signUp(page, uniqueEmail("bfcache"));
    await addTodo(page, "A private errand");
    await leaveAndComeBack("/todos", async () => {
      const other = await context.newPage();
      await other.goto("/todos");
      await other.getByRole("button", { name: "Log out", exact: true }).click();
      await expect(other).toHaveURL(/\/login$/);
      await other.close();
    });
    await expect(page).toHaveURL(/\/login$/);
    expect(await restoredFromMemory(), "/todos after logging out").toBe(false);
    await expect(page.getByText("A private errand")).toHaveCount(0);
  } finally {
    await withCache.close();
  }
});

test("refused server actions are answered 403 and 413 and logged as warnings, not errors", async ({ request, baseURL }) => {
  const logFile = join(LOG_DIR, "frontend.log");
  const logBefore = readFileSync(logFile, "utf8").length;
  const action = { "Next-Action": "0123456789abcdef", "Content-Type": "text/plain;charset=UTF-8" };

  // A foreign page posting to an action, with a forged X-Forwarded-Host to match its origin.
  const forged = await request.post("/todos", {
    headers: {
      ...action,
      Origin: "https://evil.example",
      "X-Forwarded-Host": "evil.example",
      "X-Request-ID": "forged-host-1",
    },
    data: "[]",
  });
  expect(forged.status()).toBe(403);
  expect(forged.headers()["x-request-id"]).toBe("forged-host-1");

  const oversized = await request.post("/todos", {
    headers: { ...action, Origin: baseURL ?? "" },
    data: "x".repeat(5 * 1024 * 1024),
  });
  expect(oversized.status()).toBe(413);

  const logged = readFileSync(logFile, "utf8").slice(logBefore);
  expect(logged).toContain("server action refused with 403: origin does not match host (request id forged-host-1");
  expect(logged).toContain("server action refused with 413");
  expect(logged).not.toMatch(/Invalid Server Actions request|Body exceeded|⨯|Error:/);
});
