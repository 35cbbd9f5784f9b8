// Reads a text/event-stream response body (Dify's framing: `data: <json>\n\n`, keep-alive
// `event: ping`) and calls onEvent with each parsed JSON object.

export async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = boundary(buffer)) !== null) {
      const block = buffer.slice(0, end.at);
      buffer = buffer.slice(end.at + end.length);
      const event = parseBlock(block);
      if (event) onEvent(event);
    }
  }
  buffer += decoder.decode();
  const last = parseBlock(buffer);
  if (last) onEvent(last);
}

function boundary(buffer) {
  const lf = buffer.indexOf('\n\n');
  const crlf = buffer.indexOf('\r\n\r\n');
  if (lf < 0 && crlf < 0) return null;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  return { at: lf, length: 2 };
}

function parseBlock(block) {
  const data = [];
  let name = null;
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    else if (line.startsWith('event:')) name = line.slice(6).trim();
  }
  if (!data.length) return name && name !== 'ping' ? { event: name } : null;
  try {
    return JSON.parse(data.join('\n'));
  } catch {
    return null;
  }
}
