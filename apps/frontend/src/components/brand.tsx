import Link from "next/link";

import { CheckIcon } from "./icons";

export function Brand({ href }: { href: string }) {
  return (
    <Link href={href} className="brand">
      <span className="brand-mark">
        <CheckIcon size={18} />
      </span>
      <span className="brand-name">Todos</span>
    </Link>
  );
}
