namespace IdentityHub.Server.Api;

/// <summary>
/// GET /openapi: a small page that renders /openapi/v1.json (operations by tag, parameters, bodies and
/// answers) without any package: the document itself stays the reference.
/// </summary>
public static class OpenApiBrowser
{
    private const string Page = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>IdentityHub API</title>
        <style>
          body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2733; }
          h2 { border-bottom: 1px solid #ccd; padding-bottom: .2rem; }
          .op { margin: .6rem 0; padding: .5rem .8rem; border-left: 4px solid #b71c1c; background: #f6f7f9; }
          .m { font-weight: 700; display: inline-block; width: 4.5rem; }
          code, pre { background: #eef1f4; padding: .1rem .3rem; }
          pre { white-space: pre-wrap; font-size: .85rem; }
        </style></head>
        <body><h1>IdentityHub administration API</h1>
        <p>Document: <a href="/openapi/v1.json">/openapi/v1.json</a>. Authentication: a bearer token (client credentials, scope
        <code>identityhub.admin</code>) or the IdentityHub sign-in cookie of a person with a registry role (changes need the header
        <code>X-IdentityHub-Csrf: 1</code>). Errors are RFC 9457 problem details.</p>
        <div id="api">Loading…</div>
        <script>
        const esc = s => String(s).replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
        const ref = s => s && s.$ref ? s.$ref.split('/').pop() : (s && s.type === 'array' ? ref(s.items) + '[]' : (s && s.type) || '');
        fetch('/openapi/v1.json').then(r => r.json()).then(doc => {
          const byTag = {};
          for (const [path, ops] of Object.entries(doc.paths || {}))
            for (const [method, op] of Object.entries(ops)) {
              if (typeof op !== 'object' || !op.responses) continue;
              const tag = (op.tags || ['other']).find(t => t !== 'Administration') || 'Administration';
              (byTag[tag] = byTag[tag] || []).push({ path, method, op });
            }
          let html = '';
          for (const [tag, ops] of Object.entries(byTag)) {
            html += `<h2>${esc(tag)}</h2>`;
            for (const { path, method, op } of ops) {
              const params = (op.parameters || []).map(p => `${esc(p.name)} (${esc(p.in)})`).join(', ');
              const body = op.requestBody ? ref(Object.values(op.requestBody.content || {})[0]?.schema) : '';
              const answers = Object.entries(op.responses).map(([code, r]) => `${code}${r.content ? ' ' + esc(ref(Object.values(r.content)[0]?.schema)) : ''}`).join(', ');
              html += `<div class="op"><span class="m">${method.toUpperCase()}</span><code>${esc(path)}</code>` +
                (params ? `<div>Parameters: ${params}</div>` : '') + (body ? `<div>Body: <code>${esc(body)}</code></div>` : '') +
                `<div>Answers: ${answers}</div></div>`;
            }
          }
          html += '<h2>Schemas</h2>';
          for (const [name, schema] of Object.entries(doc.components?.schemas || {}))
            html += `<details><summary><code>${esc(name)}</code></summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>`;
          document.getElementById('api').innerHTML = html;
        });
        </script></body></html>
        """;

    public static IEndpointRouteBuilder MapOpenApiBrowser(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/openapi", () => Results.Content(Page, "text/html; charset=utf-8")).ExcludeFromDescription();
        return routes;
    }
}
