import type { StatusFilter } from "./validation";

export type Counts = Record<StatusFilter, number>;

export function summaryOf(counts: Counts): string {
  if (counts.all === 0) return "Nothing to do yet";
  if (counts.open === 0) return `All ${counts.all} done`;
  return `${counts.open} open · ${counts.done} done`;
}
