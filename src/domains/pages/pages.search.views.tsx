/* The search page: a form, and the results the route has already decided the visitor may see. */

/** One search result as shown. */
export interface SearchResult {
  href: string;
  title: string;
  summary: string;
}

/** The search form and its results. The results sit in one list, which the leak audit reads alone (the
 * words asked for are echoed in the form). */
export function SearchView({ words, results }: { words: string; results: SearchResult[] }) {
  return (
    <section>
      <h1>Search</h1>
      <form method="get" action="/search">
        <label for="search-q">Search the site</label>{" "}
        <input id="search-q" type="search" name="q" value={words} maxLength={200} />{" "}
        <button type="submit">Search</button>
      </form>
      {words && results.length === 0 ? <p>Nothing matched. Try other or fewer words.</p> : null}
      <ol class="search-results">
        {results.map((r) => (
          <li key={r.href}>
            <a href={r.href}>{r.title}</a>
            {r.summary ? <p>{r.summary}</p> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
