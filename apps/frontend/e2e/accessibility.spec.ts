import type { Page } from "@playwright/test";

import { contrastRatio, expectNoSeriousAxeViolations, smallTargets, styleOf } from "./support/a11y";
import { addTodo, expect, signUp, test, todoItem, uniqueEmail } from "./support/fixtures";

const THEMES = ["light", "dark"] as const;
const WIDTHS = [
  { name: "desktop", viewport: { width: 1280, height: 800 } },
  { name: "phone", viewport: { width: 390, height: 844 } },
] as const;

/** Every check this suite makes on the page as it is now. */
async function checkPage(page: Page, where: string): Promise<void> {
  await expectNoSeriousAxeViolations(page, where);
  expect(await smallTargets(page), `targets under 44 px on ${where}`).toEqual([]);
}

for (const theme of THEMES) {
  for (const { name: width, viewport } of WIDTHS) {
    test.describe(`${theme} theme, ${width}`, () => {
      test.use({ colorScheme: theme, viewport });

      test("every page passes axe and has targets of 44 px", async ({ page, stack }) => {
        await page.goto("/login");
        await checkPage(page, "/login");
        await page.goto("/login?expired=1");
        await checkPage(page, "/login after the session ended");

        await page.goto("/signup");
        await page.getByRole("button", { name: "Create account" }).click();
        await expect(page.getByText("Enter your email address.")).toBeVisible();
        await checkPage(page, "/signup with field errors");

        await signUp(page, uniqueEmail(`axe-${theme}-${width}`));
        await checkPage(page, "/todos, empty");

        await addTodo(page, "Water the plants", "The fern on the landing too.");
        await addTodo(page, "Pay the electricity bill");
        await addTodo(page, "Return the library books");
        await page.getByRole("button", { name: "Done: Pay the electricity bill" }).click();
        await expect(page.getByText("2 open · 1 done")).toBeVisible();
        await page.getByText("Add a description").click();
        await checkPage(page, "/todos with open and done todos");

        await page.getByRole("button", { name: "Edit Water the plants" }).click();
        await checkPage(page, "/todos with the editor open");
        await page.getByRole("button", { name: "Cancel" }).click();

        await page.getByRole("button", { name: "Delete Return the library books" }).click();
        await expect(page.getByRole("button", { name: "Undo" })).toBeVisible();
        await checkPage(page, "/todos with the undo notice");
        await page.getByRole("button", { name: "Undo" }).click();

        await page.getByRole("link", { name: /^Done/ }).click();
        await expect(page).toHaveURL(/status=done/);
        await checkPage(page, "/todos?status=done");

        // In a page of its own: the browser logs the 404 answer as an error, rightly.
        const missing = await page.context().newPage();
        await missing.goto("/no-such-page");
        await checkPage(missing, "the not-found page");
        await missing.close();

        await stack.backend.stop();
        await page.goto("/todos");
        await expect(page.getByRole("heading", { name: "Your todos can't be loaded" })).toBeVisible();
        await checkPage(page, "/todos with the backend down");
      });
    });
  }

  test(`${theme} theme: controls and their states stand out at 3:1 or more`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: theme });
    await signUp(page, uniqueEmail(`contrast-${theme}`));
    await addTodo(page, "Check the tyre pressure");
    const card = page.locator(".list-card");
    const surface = await styleOf(card, "background-color");

    const circle = todoItem(page, "Check the tyre pressure").locator(".todo-check-circle");
    expect(contrastRatio(await styleOf(circle, "border-top-color"), surface), "empty done circle").toBeGreaterThanOrEqual(3);
    const input = page.getByLabel("New todo");
    expect(contrastRatio(await styleOf(input, "border-top-color"), surface), "text box border").toBeGreaterThanOrEqual(3);

    const tabs = page.locator(".filters");
    const selected = page.getByRole("link", { name: /^All/ });
    const other = page.getByRole("link", { name: /^Open/ });
    const tabsBackground = await styleOf(tabs, "background-color");
    expect(await styleOf(other, "background-color"), "an unselected tab shows the bar behind it").toBe("rgba(0, 0, 0, 0)");
    expect(contrastRatio(await styleOf(selected, "background-color"), tabsBackground), "selected tab").toBeGreaterThanOrEqual(3);

    await input.focus();
    expect(await styleOf(input, "outline-style")).toBe("solid");
    expect(contrastRatio(await styleOf(input, "outline-color"), surface), "focus ring").toBeGreaterThanOrEqual(3);
  });
}
