import { join } from "node:path";

import { addTodo, expect, signUp, test, todoItem, uniqueEmail } from "./support/fixtures";
import { SCREENSHOT_DIR } from "./support/paths";

test.use({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });

test("the list is usable at phone width", async ({ page }) => {
  await page.goto("/login");
  await page.screenshot({ path: join(SCREENSHOT_DIR, "login-phone.png") });

  await signUp(page, uniqueEmail("phone"));
  await addTodo(page, "Pick up the dry cleaning");
  await addTodo(page, "Book a table for Friday", "Somewhere quiet, for four, around 7 pm.");
  await addTodo(page, "Send the quarterly report to the whole finance team before the end of the week");
  await page.getByRole("button", { name: "Done: Pick up the dry cleaning" }).tap();
  await expect(page.getByText("2 open · 1 done")).toBeVisible();

  // Nothing sticks out sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  for (const title of ["Book a table for Friday", "Pick up the dry cleaning"]) {
    const box = await todoItem(page, title).boundingBox();
    expect(box?.width ?? 0).toBeLessThanOrEqual(390);
  }
  // The address may be shortened, but never its domain: that tells the accounts apart.
  const domain = page.locator(".topbar-email-domain");
  await expect(domain).toHaveText("@example.com");
  const [domainBox, addressBox] = [await domain.boundingBox(), await page.locator(".topbar-email").boundingBox()];
  expect((domainBox?.x ?? 0) + (domainBox?.width ?? 0)).toBeLessThanOrEqual((addressBox?.x ?? 0) + (addressBox?.width ?? 0) + 0.5);
  await page.screenshot({ path: join(SCREENSHOT_DIR, "list-phone.png"), fullPage: true });

  await page.getByRole("link", { name: /^Done/ }).tap();
  await expect(page).toHaveURL(/status=done/);
  await expect(todoItem(page, "Pick up the dry cleaning")).toBeVisible();
});
