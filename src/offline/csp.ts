/**
 * The Content-Security-Policy that keeps every request on the app's own origin: no CDN wasm, no
 * remote fonts or analytics. One definition feeds the <meta> tag of the build, the preview
 * server's headers (which also cover the inference worker: a worker loaded from a URL gets its
 * policy from its own response, not from the page) and the service worker's responses.
 *
 * 'wasm-unsafe-eval' lets onnxruntime-web compile its WebAssembly (nothing else is eval'd);
 * blob: workers are allowed because ORT's multi-threaded wasm may start its pthreads from
 * blob URLs when the page is cross-origin isolated.
 */
export const CSP_DIRECTIVES: Record<string, string[]> = {
  'default-src': ["'self'"],
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'worker-src': ["'self'", 'blob:'],
  'connect-src': ["'self'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'media-src': ["'self'", 'blob:'],
  // React's style={…} props are inline styles.
  'style-src': ["'self'", "'unsafe-inline'"],
  'font-src': ["'self'"],
  'manifest-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
};

export const CONTENT_SECURITY_POLICY = Object.entries(CSP_DIRECTIVES)
  .map(([name, sources]) => `${name} ${sources.join(' ')}`)
  .join('; ');
