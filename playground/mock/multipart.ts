// Minimal multipart/form-data parser over a buffered body (fields + files, bytes kept exact).
import { HttpError } from './context.ts';

export interface MultipartFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface Multipart {
  fields: Record<string, string>;
  files: MultipartFile[];
}

export function boundaryOf(contentType: string | undefined): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : null;
}

export function parseMultipart(body: Buffer, contentType: string | undefined): Multipart {
  const boundary = boundaryOf(contentType);
  if (!/^multipart\/form-data/i.test(contentType ?? '') || !boundary) {
    throw new HttpError(400, "Invalid Content-Type header (expected multipart/form-data with a boundary).");
  }
  const delim = Buffer.from(`--${boundary}`);
  const next = Buffer.from(`\r\n--${boundary}`);
  const out: Multipart = { fields: {}, files: [] };
  let pos = body.indexOf(delim);
  if (pos < 0) throw new HttpError(400, 'Malformed multipart body: boundary not found.');
  pos += delim.length;
  for (;;) {
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing "--"
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) throw new HttpError(400, 'Malformed multipart body: part headers not terminated.');
    const headers = body.subarray(pos, headEnd).toString('utf8');
    const dataStart = headEnd + 4;
    const end = body.indexOf(next, dataStart);
    if (end < 0) throw new HttpError(400, 'Malformed multipart body: closing boundary not found.');
    const data = body.subarray(dataStart, end);
    const disp = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1];
    if (filename !== undefined) {
      const ct = /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
      out.files.push({ field: name, filename, contentType: ct, data });
    } else {
      out.fields[name] = data.toString('utf8');
    }
    pos = end + next.length;
  }
  return out;
}
