import Link from "next/link";

import type { TodoPage } from "@/lib/backend-client";
import { listHref, type StatusFilter } from "@/lib/validation";

type PagerProps = { filter: StatusFilter; page: Pick<TodoPage, "newerCursor" | "olderCursor" | "oldestCursor"> };

/**
 * Newest first, page by page. The links carry the backend's cursors, so a todo added or
 * deleted meanwhile never makes another one show twice or go missing between pages. Not
 * prefetched, like the filter tabs: a page of a live list is read when it is asked for.
 */
export function Pager({ filter, page }: PagerProps) {
  const { newerCursor, olderCursor, oldestCursor } = page;
  if (newerCursor === null && olderCursor === null) return null;
  const linkClass = "button button-secondary button-quiet";
  return (
    <nav className="pager" aria-label="Pages">
      <span className="pager-group">
        {newerCursor !== null && (
          <>
            <Link className={linkClass} href={listHref(filter)} prefetch={false}>
              « Newest
            </Link>
            <Link className={linkClass} href={listHref(filter, newerCursor)} prefetch={false}>
              ← Newer
            </Link>
          </>
        )}
      </span>
      <span className="pager-group">
        {olderCursor !== null && (
          <>
            <Link className={linkClass} href={listHref(filter, olderCursor)} prefetch={false}>
              Older →
            </Link>
            {oldestCursor !== null && (
              <Link className={linkClass} href={listHref(filter, oldestCursor)} prefetch={false}>
                Oldest »
              </Link>
            )}
          </>
        )}
      </span>
    </nav>
  );
}
