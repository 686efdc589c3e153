/**
 * The check behind "ready offline": read a precached model back from the service worker's
 * cache and hash every file its manifest lists. The worker already checked each file against
 * the build's record while installing; this checks the copy the app will actually read, against
 * the model's own manifest, so the badge never claims more than is there.
 */
import { parseManifest } from '../model/loader.ts';
import { sha256Hex } from '../model/sha256.ts';

/** The part of the Cache API the check reads (a Cache in the browser). */
export interface CacheReader {
  match(url: string): Promise<Response | undefined>;
}

export interface VerifiedModel {
  /** Absolute manifest.json URL. */
  url: string;
  name: string;
  /** Files hashed, manifest.json not counted. */
  files: number;
  bytes: number;
}

export async function verifyCachedModel(cache: CacheReader, manifestUrl: string): Promise<VerifiedModel> {
  const read = async (url: string, what: string) => {
    const res = await cache.match(url);
    if (!res) throw new Error(`offline copy incomplete: ${what} (${url}) is not in the cache`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const manifest = parseManifest(new TextDecoder().decode(await read(manifestUrl, 'manifest.json')), manifestUrl);
  let bytes = 0;
  for (const f of manifest.files) {
    const data = await read(new URL(f.path, manifestUrl).href, f.path);
    const actual = await sha256Hex(data);
    if (actual !== f.sha256) throw new Error(`offline copy damaged: ${f.path} has sha256 ${actual}, ${manifestUrl} says ${f.sha256}`);
    bytes += data.byteLength;
  }
  return { url: manifestUrl, name: manifest.name, files: manifest.files.length, bytes };
}
