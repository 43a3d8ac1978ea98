import Link from "next/link";

import { listHref, type StatusFilter } from "@/lib/validation";

type PagerProps = { filter: StatusFilter; page: number; pageCount: number };

export function Pager({ filter, page, pageCount }: PagerProps) {
  if (pageCount <= 1) return null;
  return (
    <nav className="pager" aria-label="Pages">
      {page > 1 ? (
        <Link className="button button-secondary button-quiet" href={listHref(filter, page - 1)}>
          ← Newer
        </Link>
      ) : (
        <span />
      )}
      <span>
        Page {page} of {pageCount}
      </span>
      {page < pageCount ? (
        <Link className="button button-secondary button-quiet" href={listHref(filter, page + 1)}>
          Older →
        </Link>
      ) : (
        <span />
      )}
    </nav>
  );
}
