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
            <div className="skeleton-block" style={{ height: 42, marginTop: 20 }} />
            {PLACEHOLDER_WIDTHS.map((width) => (
              <div className="skeleton-row" key={width}>
                <div className="skeleton-block" style={{ width: 26, height: 26, borderRadius: "50%" }} />
                <div className="skeleton-block" style={{ width: `${width}%`, height: 16 }} />
              </div>
            ))}
          </div>
        </section>
      </main>
    </>
  );
}
