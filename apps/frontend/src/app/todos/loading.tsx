import { Brand } from "@/components/brand";

const PLACEHOLDER_WIDTHS = [68, 52, 76, 44];

export default function TodosLoading() {
  return (
    <>
      <header className="topbar">
        <Brand href="/todos" />
      </header>
      <main className="page" id="main" aria-busy="true">
        <section className="card list-card">
          <h1 className="list-title">Your todos</h1>
          <p className="visually-hidden" role="status">
            Loading your todos…
          </p>
          <div aria-hidden="true">
            <div className="skeleton-block skeleton-input" />
            {PLACEHOLDER_WIDTHS.map((width) => (
              <div className="skeleton-row" key={width}>
                <div className="skeleton-block skeleton-check" />
                <div className={`skeleton-block skeleton-line skeleton-line-${width}`} />
              </div>
            ))}
          </div>
        </section>
      </main>
    </>
  );
}
