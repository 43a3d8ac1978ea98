import type { StatusFilter } from "./validation";

export type Counts = Record<StatusFilter, number>;

/**
 * The list call already returns the total for the shown filter; one more
 * call for the complementary status is enough to know all three counts.
 */
export function complementOf(filter: StatusFilter): Exclude<StatusFilter, "all"> {
  return filter === "open" ? "done" : "open";
}

export function countsFrom(filter: StatusFilter, shownTotal: number, complementTotal: number): Counts {
  switch (filter) {
    case "all":
      return { all: shownTotal, open: complementTotal, done: Math.max(0, shownTotal - complementTotal) };
    case "open":
      return { all: shownTotal + complementTotal, open: shownTotal, done: complementTotal };
    case "done":
      return { all: shownTotal + complementTotal, open: complementTotal, done: shownTotal };
  }
}

export function summaryOf(counts: Counts): string {
  if (counts.all === 0) return "Nothing to do yet";
  if (counts.open === 0) return `All ${counts.all} done`;
  return `${counts.open} open · ${counts.done} done`;
}
