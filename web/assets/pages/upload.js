// Adding files to a knowledge base: drag and drop or a file picker (several at once), a progress
// bar per file (a failed file shows why and can be retried; the others go on), the process rule
// (automatic or custom: separator, max tokens, overlap, pre-processing, parent-child), a chunk
// preview, then indexing. Or a website instead of files: a URL, a page limit and a depth are
// crawled in the background, progress is shown while it runs, and the pages read (ticked by
// default) become the documents.

import { get, post, uploadFile } from '../api.js';
import { h, mount, field, uid, toast, announce, busy } from '../dom.js';
import { navigate } from '../router.js';
import { datasetHeader } from './documents.js';
import { showError } from './auth.js';

const PARALLEL_UPLOADS = 3;
/** How often a running crawl is polled. */
const CRAWL_POLL_MS = 1000;

export async function uploadPage({ params, main }) {
  const dataset = await get(`/datasets/${params.id}`);
  const base = `/datasets/${dataset.id}`;
  const [limits, support, defaults] = await Promise.all([
    get('/files/upload').catch(() => ({})),
    get('/files/support-type').catch(() => ({ allowed_extensions: [] })),
    get('/datasets/process-rule').catch(() => null),
  ]);
  const allowed = (support.allowed_extensions || []).map((e) => e.toLowerCase().replace(/^\./, ''));
  const maxBytes = (limits.file_size_limit || 15) * 1024 * 1024;
  const tokenLimit = (defaults && defaults.limits && defaults.limits.indexing_max_segmentation_tokens_length) || 4000;

  // --- files ---------------------------------------------------------------------------------
  const picker = h('input', { type: 'file', multiple: true, id: uid('files'), class: 'visually-hidden', accept: allowed.map((e) => `.${e}`).join(',') || null });
  const drop = h('div', { class: 'dropzone' },
    h('p', {}, 'Drag files here, or ', h('label', { for: picker.id, class: 'link-label', tabindex: 0, role: 'button' }, 'choose files'), '.'),
    h('p', { class: 'muted small' }, `${allowed.length ? allowed.join(', ').toUpperCase() : 'Documents'}; up to ${limits.file_size_limit || 15} MB each.`),
    picker);
  const fileList = h('ul', { class: 'file-list', 'aria-label': 'Files' });
  const files = []; // {file, state: queued|uploading|done|failed, upload, bar, text, li}

  const chooseLabel = drop.querySelector('label');
  chooseLabel.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); picker.click(); }
  });
  picker.addEventListener('change', () => { addFiles([...picker.files]); picker.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles([...e.dataTransfer.files]);
  });

  function addFiles(list) {
    for (const file of list) {
      const entry = { file, state: 'queued', upload: null };
      entry.bar = h('progress', { max: 100, value: 0, 'aria-label': `Upload of ${file.name}` });
      entry.text = h('span', { class: 'file-state' }, 'Waiting');
      const retry = h('button', { class: 'button small', type: 'button', hidden: true, 'aria-label': `Retry ${file.name}` }, 'Retry');
      const remove = h('button', { class: 'button small ghost', type: 'button', 'aria-label': `Remove ${file.name}` }, 'Remove');
      retry.addEventListener('click', () => { retry.hidden = true; entry.state = 'queued'; pump(); });
      remove.addEventListener('click', () => {
        files.splice(files.indexOf(entry), 1);
        entry.li.remove();
        refresh();
      });
      entry.retry = retry;
      entry.li = h('li', { class: 'file' },
        h('div', { class: 'file-head' }, h('span', { class: 'file-name' }, file.name), h('span', { class: 'muted small' }, size(file.size))),
        entry.bar, h('div', { class: 'file-foot' }, entry.text, retry, remove));
      fileList.append(entry.li);
      files.push(entry);
      const ext = file.name.includes('.') ? file.name.split('.').pop().toLowerCase() : '';
      if (allowed.length && !allowed.includes(ext)) fail(entry, `.${ext || '?'} files are not supported.`, false);
      else if (file.size > maxBytes) fail(entry, `Larger than ${limits.file_size_limit || 15} MB.`, false);
    }
    pump();
    refresh();
  }

  function fail(entry, message, canRetry = true) {
    entry.state = 'failed';
    entry.li.classList.add('failed');
    entry.text.textContent = `Failed: ${message}`;
    entry.retry.hidden = !canRetry;
    announce(`${entry.file.name} failed: ${message}`);
  }

  function pump() {
    const running = files.filter((f) => f.state === 'uploading').length;
    const next = files.filter((f) => f.state === 'queued').slice(0, Math.max(0, PARALLEL_UPLOADS - running));
    for (const entry of next) send(entry);
  }

  async function send(entry) {
    entry.state = 'uploading';
    entry.li.classList.remove('failed');
    entry.text.textContent = 'Uploading 0%';
    refresh();
    try {
      entry.upload = await uploadFile(entry.file, (fraction) => {
        entry.bar.value = Math.round(fraction * 100);
        entry.text.textContent = `Uploading ${entry.bar.value}%`;
      });
      entry.state = 'done';
      entry.bar.value = 100;
      entry.text.textContent = 'Uploaded';
      announce(`${entry.file.name} uploaded.`);
    } catch (err) {
      entry.bar.value = 0;
      fail(entry, err.message, err.status !== 415 && err.status !== 413);
    }
    pump();
    refresh();
  }

  // --- website -----------------------------------------------------------------------------------
  const sourceName = uid('source');
  const fromFiles = h('input', { type: 'radio', name: sourceName, value: 'files', checked: true });
  const fromWebsite = h('input', { type: 'radio', name: sourceName, value: 'website' });
  const sourceChoice = h('fieldset', { class: 'choices' }, h('legend', {}, 'Data source'),
    h('label', { class: 'choice' }, fromFiles, h('span', {}, h('strong', {}, 'Files'), ' — upload documents.')),
    h('label', { class: 'choice' }, fromWebsite, h('span', {}, h('strong', {}, 'Website'), ' — crawl pages of a site.')));
  const siteUrl = field('Website URL', h('input', { type: 'url', name: 'url', placeholder: 'https://docs.example.com/' }));
  const pageLimit = field('Page limit', h('input', { type: 'number', name: 'limit', min: 1, max: 500, value: 10 }));
  const depth = field('Link depth', h('input', { type: 'number', name: 'max_depth', min: 0, max: 10, value: 2 }), { hint: 'Links followed from the start page; 0 reads only that page.' });
  const subPages = h('input', { type: 'checkbox', checked: true });
  const sitemap = h('input', { type: 'checkbox' });
  const mainOnly = h('input', { type: 'checkbox', checked: true });
  const crawlButton = h('button', { class: 'button', type: 'button' }, 'Crawl');
  const crawlStatus = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const crawlBar = h('progress', { max: 100, value: 0, hidden: true, 'aria-label': 'Crawl progress' });
  const pageList = h('ul', { class: 'file-list', 'aria-label': 'Crawled pages' });
  const failedList = h('ul', { class: 'file-list', 'aria-label': 'Pages not imported' });
  let crawl = null; // {job_id, pages: [{url, box}]}
  const websiteBox = h('section', { 'aria-label': 'Website', hidden: true },
    siteUrl.row, pageLimit.row, depth.row,
    field('Crawl sub-pages', subPages, { inline: true }).row,
    field('Also start from the sitemap', sitemap, { inline: true }).row,
    field('Only the main content', mainOnly, { inline: true }).row,
    h('div', { class: 'form-actions' }, crawlButton), crawlBar, crawlStatus, pageList, failedList);

  for (const input of [fromFiles, fromWebsite]) input.addEventListener('change', () => {
    websiteBox.hidden = !fromWebsite.checked;
    filesBox.hidden = fromWebsite.checked;
    clearPreview();
    refresh();
  });

  function selectedPages() {
    return crawl ? crawl.pages.filter((p) => p.box.checked).map((p) => p.url) : [];
  }

  crawlButton.addEventListener('click', () => busy(crawlButton, async () => {
    for (const f of [siteUrl, pageLimit, depth]) f.setError('');
    formError.hidden = true;
    crawl = null;
    pageList.replaceChildren();
    failedList.replaceChildren();
    refresh();
    let job;
    try {
      job = await post('/website/crawl', {
        provider: 'ragd',
        url: siteUrl.control.value.trim(),
        options: {
          crawl_sub_pages: subPages.checked, only_main_content: mainOnly.checked, use_sitemap: sitemap.checked,
          limit: pageLimit.control.value, max_depth: depth.control.value, includes: '', excludes: '',
        },
      });
    } catch (err) {
      const target = /limit/.test(err.message) ? pageLimit : /max_depth/.test(err.message) ? depth : siteUrl;
      target.setError(err.message);
      target.control.focus();
      return;
    }
    crawlBar.hidden = false;
    crawlBar.value = 0;
    for (;;) {
      const status = await get(`/website/crawl/status/${job.job_id}?provider=ragd`);
      const total = Math.max(status.total || 0, 1);
      crawlBar.value = Math.round((100 * (status.completed || 0)) / total);
      crawlStatus.textContent = status.status === 'active'
        ? `Crawling… ${status.completed} of ${status.total} pages read.`
        : status.status === 'completed'
          ? `${status.completed} pages read${status.failed.length ? `, ${status.failed.length} not imported` : ''}${status.limit_reached ? ' (page limit reached)' : ''}.`
          : `The crawl failed: ${status.error || 'unknown error'}`;
      if (status.status !== 'active') {
        crawlBar.hidden = true;
        crawl = { job_id: job.job_id, pages: [] };
        for (const page of status.data) {
          const box = h('input', { type: 'checkbox', checked: true, 'aria-label': `Import ${page.source_url}` });
          box.addEventListener('change', refresh);
          crawl.pages.push({ url: page.source_url, box });
          pageList.append(h('li', { class: 'file' },
            h('div', { class: 'file-head' }, h('label', { class: 'file-name' }, box, ' ', page.title || page.source_url)),
            h('p', { class: 'muted small' }, page.source_url)));
        }
        for (const page of status.failed) {
          failedList.append(h('li', { class: 'file failed' },
            h('span', { class: 'file-name' }, page.source_url), h('p', { class: 'small' }, page.error)));
        }
        announce(crawlStatus.textContent);
        refresh();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, CRAWL_POLL_MS));
    }
  }));

  // --- process rule ----------------------------------------------------------------------------
  const seg = (defaults && defaults.rules && defaults.rules.segmentation) || {};
  const pre = Object.fromEntries(((defaults && defaults.rules && defaults.rules.pre_processing_rules) || []).map((r) => [r.id, r.enabled]));
  const locked = dataset.document_count > 0;
  const techniqueSelect = h('select', { name: 'indexing_technique', disabled: locked && !!dataset.indexing_technique },
    h('option', { value: 'high_quality', selected: dataset.indexing_technique !== 'economy' }, 'High quality: embeddings with full text'),
    h('option', { value: 'economy', selected: dataset.indexing_technique === 'economy' }, 'Economy: keywords only'));
  const technique = field('Index mode', techniqueSelect, { hint: locked ? 'Fixed by the documents already in this knowledge base.' : null });

  const modeName = uid('mode');
  const automatic = h('input', { type: 'radio', name: modeName, value: 'automatic', checked: true });
  const custom = h('input', { type: 'radio', name: modeName, value: 'custom' });
  const docFormName = uid('form');
  const general = h('input', { type: 'radio', name: docFormName, value: 'text_model', checked: dataset.doc_form !== 'hierarchical_model' });
  const parentChild = h('input', { type: 'radio', name: docFormName, value: 'hierarchical_model', checked: dataset.doc_form === 'hierarchical_model' });
  if (locked && dataset.doc_form) { general.disabled = true; parentChild.disabled = true; }

  const separator = field('Separator', h('input', { name: 'separator', value: escapeSeparator(seg.separator ?? seg.delimiter ?? '\n\n') }), { hint: 'Text is cut here first; write a line break as \\n.' });
  const maxTokens = field('Maximum chunk length (tokens)', h('input', { type: 'number', name: 'max_tokens', min: 50, max: tokenLimit, value: seg.max_tokens || 500 }));
  const overlap = field('Chunk overlap (tokens)', h('input', { type: 'number', name: 'chunk_overlap', min: 0, value: seg.chunk_overlap ?? 50 }));
  const extraSpaces = h('input', { type: 'checkbox', checked: pre.remove_extra_spaces !== false });
  const urls = h('input', { type: 'checkbox', checked: !!pre.remove_urls_emails });
  const parentMode = field('Parent chunk', h('select', {},
    h('option', { value: 'paragraph' }, 'Paragraph: split by the separator and length above'),
    h('option', { value: 'full-doc' }, 'Full document: the whole document is one parent')));
  const childSeparator = field('Child separator', h('input', { value: '\\n' }));
  const childTokens = field('Maximum child length (tokens)', h('input', { type: 'number', min: 20, max: tokenLimit, value: 200 }));
  const customBox = h('fieldset', { class: 'subfields', hidden: true },
    h('legend', {}, 'Custom rule'), separator.row, maxTokens.row, overlap.row,
    field('Replace runs of spaces, tabs and blank lines', extraSpaces, { inline: true }).row,
    field('Delete URLs and email addresses', urls, { inline: true }).row);
  const childBox = h('fieldset', { class: 'subfields', hidden: true },
    h('legend', {}, 'Parent-child'), parentMode.row, childSeparator.row, childTokens.row);

  const sync = () => {
    customBox.hidden = !custom.checked && !parentChild.checked;
    childBox.hidden = !parentChild.checked;
    automatic.disabled = parentChild.checked;
    if (parentChild.checked) custom.checked = true;
  };
  for (const input of [automatic, custom, general, parentChild]) input.addEventListener('change', () => { sync(); clearPreview(); });

  const ruleForm = h('div', { class: 'rule' },
    technique.row,
    h('fieldset', { class: 'choices' }, h('legend', {}, 'Chunk structure'),
      h('label', { class: 'choice' }, general, h('span', {}, h('strong', {}, 'General'), ' — chunks are retrieved and returned as they are.')),
      h('label', { class: 'choice' }, parentChild, h('span', {}, h('strong', {}, 'Parent-child'), ' — small child chunks match the query; their parent gives the context.'))),
    h('fieldset', { class: 'choices' }, h('legend', {}, 'Chunking'),
      h('label', { class: 'choice' }, automatic, h('span', {}, h('strong', {}, 'Automatic'), ' — chunks as long as the embedding model reads in one go, never over 500 tokens (254 with all-MiniLM-L6-v2, 500 with multilingual-e5-small), cut at paragraph, line and sentence breaks, with 10% overlap; runs of spaces are cleaned up.')),
      h('label', { class: 'choice' }, custom, h('span', {}, h('strong', {}, 'Custom'), ' — choose the separator, length, overlap and cleaning.'))),
    customBox, childBox);

  function processRule() {
    for (const f of [separator, maxTokens, overlap, childSeparator, childTokens]) f.setError('');
    const docForm = parentChild.checked ? 'hierarchical_model' : 'text_model';
    if (automatic.checked && docForm === 'text_model') return { rule: { mode: 'automatic' }, docForm };
    let bad = null;
    const max = Number(maxTokens.control.value);
    const lap = Number(overlap.control.value);
    const fullDoc = docForm === 'hierarchical_model' && parentMode.control.value === 'full-doc';
    if (!separator.control.value && !fullDoc) bad = bad || (separator.setError('Enter a separator.'), separator);
    if (!fullDoc && (!Number.isInteger(max) || max < 50 || max > tokenLimit)) bad = bad || (maxTokens.setError(`Use a whole number from 50 to ${tokenLimit}.`), maxTokens);
    if (!Number.isInteger(lap) || lap < 0 || (!fullDoc && lap >= max)) bad = bad || (overlap.setError('Use a whole number, smaller than the chunk length.'), overlap);
    const rules = {
      pre_processing_rules: [
        { id: 'remove_extra_spaces', enabled: extraSpaces.checked },
        { id: 'remove_urls_emails', enabled: urls.checked },
      ],
      segmentation: { separator: unescapeSeparator(separator.control.value), max_tokens: max, chunk_overlap: lap },
    };
    if (docForm === 'hierarchical_model') {
      const childMax = Number(childTokens.control.value);
      if (!childSeparator.control.value) bad = bad || (childSeparator.setError('Enter a separator.'), childSeparator);
      if (!Number.isInteger(childMax) || childMax < 20 || (!fullDoc && childMax >= max)) bad = bad || (childTokens.setError('Use a whole number from 20, smaller than the parent length.'), childTokens);
      rules.parent_mode = parentMode.control.value;
      rules.subchunk_segmentation = { separator: unescapeSeparator(childSeparator.control.value), max_tokens: childMax, chunk_overlap: 0 };
    }
    if (bad) { bad.control.focus(); return null; }
    return { rule: { mode: docForm === 'hierarchical_model' ? 'hierarchical' : 'custom', rules }, docForm };
  }

  // --- preview and submit ------------------------------------------------------------------------
  const previewButton = h('button', { class: 'button', type: 'button' }, 'Preview chunks');
  const submit = h('button', { class: 'button primary', type: 'button' }, 'Save and process');
  const formError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const preview = h('section', { class: 'preview', 'aria-label': 'Chunk preview', 'aria-live': 'polite' });
  const summary = h('p', { class: 'muted', role: 'status' });
  const filesBox = h('section', { 'aria-label': 'Files' }, drop, fileList, summary);

  function uploadedIds() {
    return files.filter((f) => f.state === 'done').map((f) => f.upload.id);
  }

  function refresh() {
    if (fromWebsite.checked) {
      submit.disabled = selectedPages().length === 0;
      previewButton.disabled = true;
      return;
    }
    const uploading = files.some((f) => f.state === 'uploading' || f.state === 'queued');
    const done = uploadedIds().length;
    const failed = files.filter((f) => f.state === 'failed').length;
    submit.disabled = uploading || done === 0;
    previewButton.disabled = uploading || done === 0;
    summary.textContent = files.length
      ? `${done} of ${files.length} files uploaded${failed ? `, ${failed} failed` : ''}${uploading ? ', uploading…' : '.'}`
      : 'No files yet.';
  }

  function clearPreview() {
    preview.replaceChildren();
  }

  function infoList() {
    if (fromWebsite.checked) {
      return { data_source_type: 'website_crawl',
        website_info_list: { provider: 'ragd', job_id: crawl.job_id, urls: selectedPages(), only_main_content: mainOnly.checked } };
    }
    return { data_source_type: 'upload_file', file_info_list: { file_ids: uploadedIds() } };
  }

  function body(ruleAndForm) {
    return {
      info_list: infoList(),
      process_rule: ruleAndForm.rule,
      indexing_technique: techniqueSelect.value,
      doc_form: ruleAndForm.docForm,
      // No doc_language: the server reads a new dataset's language from its first document.
      dataset_id: dataset.id,
    };
  }

  previewButton.addEventListener('click', () => busy(previewButton, async () => {
    formError.hidden = true;
    const rule = processRule();
    if (!rule) return;
    try {
      const estimate = await post('/datasets/indexing-estimate', body(rule));
      const items = estimate.preview || [];
      mount(preview,
        h('h2', {}, 'Chunk preview'),
        h('p', { class: 'muted' }, `${estimate.total_segments ?? items.length} chunks in total; the first ${items.length} below.`),
        h('ol', { class: 'chunk-preview' }, items.map((item, i) => h('li', { class: 'chunk' },
          h('p', { class: 'chunk-label' }, `Chunk ${i + 1} · ${item.content.length} characters`),
          h('p', { class: 'chunk-text' }, item.content),
          item.child_chunks && item.child_chunks.length
            ? h('ul', { class: 'children' }, item.child_chunks.map((c) => h('li', {}, typeof c === 'string' ? c : c.content)))
            : null))));
    } catch (err) {
      formError.textContent = err.message;
      formError.hidden = false;
    }
  }));

  submit.addEventListener('click', () => busy(submit, async () => {
    formError.hidden = true;
    const rule = processRule();
    if (!rule) return;
    const request = body(rule);
    try {
      await post(`${base}/documents`, {
        data_source: { type: request.info_list.data_source_type, info_list: request.info_list },
        indexing_technique: request.indexing_technique,
        process_rule: request.process_rule,
        doc_form: request.doc_form,
        doc_language: request.doc_language,
      });
      toast(fromWebsite.checked
        ? `Indexing ${request.info_list.website_info_list.urls.length} pages`
        : `Indexing ${request.info_list.file_info_list.file_ids.length} files`);
      navigate(`${base}/documents`);
    } catch (err) {
      showError(err, { separator, max_tokens: maxTokens, chunk_overlap: overlap }, formError);
    }
  }));

  mount(main, h('div', { class: 'page' },
    datasetHeader(dataset, null),
    h('h2', {}, 'Add documents'),
    sourceChoice,
    h('div', { class: 'upload-grid' },
      h('div', {}, filesBox, websiteBox),
      h('section', { 'aria-label': 'Chunk settings' }, ruleForm,
        formError, h('div', { class: 'form-actions' }, previewButton, submit))),
    preview));
  sync();
  refresh();
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function escapeSeparator(s) {
  return s.replace(/\n/g, '\\n').replace(/\t/g, '\\t');
}

function unescapeSeparator(s) {
  return s.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}
