// Writes the browser tests' fixture files: a Markdown guide and a one-page PDF, both made-up text.
// The PDF is written by hand (one page, Helvetica, text drawn with Tj), so no tool is needed:
//   node tests/web/make_fixtures.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = new URL('./fixtures/', import.meta.url);

const markdown = `# Greenhouse care guide

## Watering

Water the tomato seedlings every morning with rain water kept in the blue barrel.
Let the top centimetre of soil dry before watering the basil again.

## Ventilation

Open the roof vents when the thermometer passes twenty-six degrees, and close them at dusk.
`;

const lines = [
  'Saltmarsh field notes',
  '',
  'The grey herons of the Wexby saltmarsh begin their autumn migration',
  'in the second week of October, when the tide tables turn to neap.',
  'Volunteers count the herons from the old pumping station at dawn.',
  'Last season the count reached two hundred and twelve birds.',
];

function pdf(textLines) {
  const escape = (s) => s.replace(/\\/g, '\\\\').replace(/\(/g, '\\(').replace(/\)/g, '\\)');
  const ops = ['BT', '/F1 12 Tf', '14 TL', '72 740 Td'];
  for (const line of textLines) ops.push(`(${escape(line)}) Tj`, 'T*');
  ops.push('ET');
  const stream = ops.join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`,
    '<< /Title (Saltmarsh field notes) /Producer (ragd test fixtures) >>',
  ];
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) out += `${String(offset).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

writeFileSync(fileURLToPath(new URL('greenhouse-guide.md', dir)), markdown);
writeFileSync(fileURLToPath(new URL('saltmarsh-notes.pdf', dir)), pdf(lines));
console.log('wrote tests/web/fixtures/greenhouse-guide.md and saltmarsh-notes.pdf');
