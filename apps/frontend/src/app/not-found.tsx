import Link from "next/link";

export default function NotFound() {
  return (
    <main className="page" id="main">
      <section className="card list-card">
        <div className="state">
          <h1 className="state-title">This page does not exist</h1>
          <p className="state-text">The link may be old or mistyped.</p>
          <Link className="button" href="/">
            Go to your todos
          </Link>
        </div>
      </section>
    </main>
  );
}
