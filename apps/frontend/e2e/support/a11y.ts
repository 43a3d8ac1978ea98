// Accessibility checks shared by the browser tests: axe-core's rules, and the WCAG checks
// axe does not make (contrast of control borders and states, target size).

import AxeBuilder from "@axe-core/playwright";
import { expect, type Locator, type Page } from "@playwright/test";

/** Fails on any axe-core violation of "serious" or "critical" impact on the page as it is now. */
export async function expectNoSeriousAxeViolations(page: Page, where: string): Promise<void> {
  // Next.js streams a dynamic page's metadata after its first bytes: look at the page once its
  // title has arrived, as a person does, not at the instant the navigation ends.
  await expect(page).toHaveTitle(/\S/);
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      elements: violation.nodes.map((node) => `${node.target.join(" ")}: ${node.failureSummary ?? ""}`),
    }));
  expect(serious, `serious or critical axe violations on ${where}`).toEqual([]);
}

type Rgb = [number, number, number];

function parseRgb(color: string): Rgb {
  const channels = /^rgba?\((\d+),\s*(\d+),\s*(\d+)(?:,\s*([\d.]+))?\)$/.exec(color);
  if (channels === null) throw new Error(`not an rgb() colour: ${color}`);
  if (channels[4] !== undefined && Number(channels[4]) < 1) throw new Error(`translucent colour: ${color}`);
  return [Number(channels[1]), Number(channels[2]), Number(channels[3])];
}

function relativeLuminance([red, green, blue]: Rgb): number {
  const linear = (channel: number) => {
    const value = channel / 255;
    return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
}

/** WCAG 2 contrast ratio of two opaque CSS colours as getComputedStyle gives them. */
export function contrastRatio(first: string, second: string): number {
  const [lighter, darker] = [relativeLuminance(parseRgb(first)), relativeLuminance(parseRgb(second))].sort(
    (a, b) => b - a,
  );
  return ((lighter ?? 0) + 0.05) / ((darker ?? 0) + 0.05);
}

/** One computed style property of the element. */
export function styleOf(locator: Locator, property: string): Promise<string> {
  return locator.evaluate((element, name) => getComputedStyle(element).getPropertyValue(name), property);
}

/** Width and height of every visible control smaller than 44 × 44 CSS pixels. */
export async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>("button, a[href], input, textarea, summary, select")]
      // Links inside a sentence are exempt (WCAG 2.5.8); so is the skip link until focused.
      .filter((element) => !element.closest("p") && !element.classList.contains("skip-link"))
      .map((element) => ({ element, box: element.getBoundingClientRect() }))
      .filter(({ box }) => box.width > 0 && box.height > 0 && (box.width < 44 || box.height < 44))
      .map(({ element, box }) => `${element.outerHTML.slice(0, 80)}: ${box.width}×${box.height}`),
  );
}
