import Link from "next/link";

import type { Counts } from "@/lib/counts";
import { listHref, STATUS_FILTERS, type StatusFilter } from "@/lib/validation";

const LABELS: Record<StatusFilter, string> = { all: "All", open: "Open", done: "Done" };

/**
 * The links are not prefetched: each filter is one person's live list, so a prefetch is a wasted
 * backend round trip, and one that lands after a change (Done, Delete) can carry the list as it
 * was before it.
 */
export function FilterTabs({ current, counts }: { current: StatusFilter; counts: Counts | null }) {
  return (
    <nav className="filters" aria-label="Show todos">
      {STATUS_FILTERS.map((filter) => (
        <Link
          key={filter}
          href={listHref(filter)}
          prefetch={false}
          className="filter-link"
          aria-current={filter === current ? "page" : undefined}
        >
          {LABELS[filter]}
          {counts !== null && (
            <span className="filter-count" aria-label={`${counts[filter]} todos`}>
              {counts[filter]}
            </span>
          )}
        </Link>
      ))}
    </nav>
  );
}
