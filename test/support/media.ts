import sharp from 'sharp';

/** A noisy PNG (so that it does not compress to nothing), made with sharp. */
export const noisyPng = async (width: number, height: number): Promise<Buffer> => {
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 42;
  for (let i = 0; i < pixels.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = (seed >> 16) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
};

/** A minimal PDF: enough for magic-byte detection. */
export const tinyPdf = (padding = 0) =>
  Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n'), Buffer.alloc(padding, 0x20), Buffer.from('\n%%EOF\n')]);

/** POST /v1/media as a browser would: multipart/form-data with one file part, the client's claimed type included. */
export const upload = async (url: string, token: string, bytes: Buffer, claimedType = 'application/octet-stream', filename = 'file.bin') => {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: claimedType }), filename);
  const response = await fetch(`${url}/v1/media`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};

export const download = async (url: string, token: string | undefined, path: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
};
