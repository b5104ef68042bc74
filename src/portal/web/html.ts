/*
 * The portal's HTML: plain server-rendered pages, one small inline stylesheet, no JavaScript (a captive
 * sheet on a phone often runs none), readable on a 320 px screen. Every value that came from a request,
 * the store or the config goes through `esc`.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Already-escaped HTML, so templates can be nested without escaping twice. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = Html | string | number | undefined | false | null | readonly Part[];

function render(p: Part): string {
  if (p === undefined || p === false || p === null) return '';
  if (p instanceof Html) return p.text;
  if (Array.isArray(p)) return (p as readonly Part[]).map(render).join('');
  return esc(String(p));
}

/** Tagged template: interpolated values are escaped unless they are Html. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

const STYLE = `*{box-sizing:border-box}
body{font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f3f4f6;color:#111}
main{max-width:30rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
section,form.card{background:#fff;border-radius:.6rem;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 2px #0002}
label{display:block;margin:.5rem 0 .2rem;font-weight:600}
input[type=text],input[type=password]{width:100%;padding:.7rem;font-size:1rem;border:1px solid #999;border-radius:.4rem}
button{width:100%;margin-top:.8rem;padding:.8rem;font-size:1rem;border:0;border-radius:.4rem;background:#1d4ed8;color:#fff}
button.secondary{background:#4b5563}
.error{background:#fee2e2;color:#7f1d1d;border-left:4px solid #b91c1c;padding:.7rem;border-radius:.4rem;margin:0 0 1rem}
.ok{background:#dcfce7;color:#14532d;border-left:4px solid #15803d;padding:.7rem;border-radius:.4rem;margin:0 0 1rem}
.info{background:#fef9c3;color:#713f12;border-left:4px solid #ca8a04;padding:.7rem;border-radius:.4rem;margin:0 0 1rem}
.or{text-align:center;color:#555;margin:.5rem 0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;margin:0}dt{color:#555}dd{margin:0;font-weight:600}
ul{padding-left:1.2rem;margin:.3rem 0}li{margin:.3rem 0}
small{color:#555}
a{color:#1d4ed8;word-break:break-all}`;

export function page(opts: { lang: string; title: string; body: Html }): string {
  return `<!doctype html>
<html lang="${esc(opts.lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(opts.title)}</title>
<style>${STYLE}</style>
</head><body><main>
${opts.body.text}
</main></body></html>
`;
}

/** Security headers every portal page carries: nothing runs, nothing frames it, nothing is cached. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
