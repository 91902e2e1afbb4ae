// The support dashboard: a client of the gateway's public GraphQL API. Every refresh is one
// POST /graphql whose one operation selects every view; a click on a bucket, a point or a
// link lists its tickets through that statistic's own drill-down connection.
'use strict';

(() => {
  const TOKEN_KEY = 'ticket-gateway.dashboard.token';
  const PAGE_SIZE = 25;
  /** The select value for "tickets with no value" (a real value is never empty). */
  const NONE = '(none)';

  const QUERY = `query Dashboard($filter: TicketFilter, $period: VolumePeriod!) {
  viewer { access accessId }
  categories { categories { value label } subcategories { value label } }
  stats(filter: $filter) {
    total
    sankey { nodes { id label } links { source target value category subcategory } }
    volume(groupBy: $period) { date count }
    resolution { resolutionRate totalResolved totalUnresolved averageHours medianHours p90Hours }
    firstResponse { responded awaitingResponse averageHours medianHours p90Hours }
    statusBreakdown { value count percentage }
    priorityBreakdown { value count percentage }
    sourceBreakdown { value count percentage }
    humanVerified: topCategories(limit: 10, basis: HUMAN_VERIFIED) { ...Top }
    aiGenerated: topCategories(limit: 10, basis: AI_GENERATED) { ...Top }
    effective: topCategories(limit: 10, basis: EFFECTIVE) { ...Top }
    categorizationAgreement(limit: 10) {
      compared categoryAgreementRate subcategoryAgreementRate awaitingVerification
      disagreements { aiCategory humanCategory count }
    }
  }
}
fragment Top on TopCategories {
  categories { category label count percentage }
  subcategories { subcategory label category count percentage }
}`;

  const TICKETS = `tickets(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      nodes { id subject status priority source createdAt resolvedAt humanVerifiedCategory aiGeneratedCategory user { fullName } }
    }`;

  const MESSAGES = `query DashboardTicketMessages($id: ID!) {
  ticket(id: $id) { id messages { position messageType message createdAt } }
}`;

  const BASES = {
    humanVerified: { enum: 'HUMAN_VERIFIED', label: 'human-verified' },
    aiGenerated: { enum: 'AI_GENERATED', label: 'AI' },
    effective: { enum: 'EFFECTIVE', label: 'effective' },
  };

  const MESSAGE_TYPES = {
    INITIAL_REQUEST: 'Initial request',
    CUSTOMER_RESPONSE: 'Customer',
    HUMAN_AGENT_RESPONSE: 'Agent',
    AI_AGENT_RESPONSE: 'AI agent',
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    token: null,
    data: null,
    labels: { categories: new Map(), subcategories: new Map() },
    // Values seen in the breakdowns, so a filter's options survive the filter narrowing them.
    seen: { source: new Set(), priority: new Set(), status: new Set() },
    inFlight: null,
    generation: 0,
    charts: new Map(),
    drill: null,
    retry: null,
  };

  // ---- Numbers in words ---------------------------------------------------------------

  const integer = new Intl.NumberFormat('en');
  const count = (n) => integer.format(n);
  const percent = (x) => (x == null ? '—' : `${(x * 100).toFixed(1)} %`);
  function hours(h) {
    if (h == null) return '—';
    if (h < 1) return `${Math.round(h * 60)} min`;
    if (h < 48) return `${h.toFixed(1)} h`;
    return `${(h / 24).toFixed(1)} d`;
  }
  const categoryLabel = (c) => state.labels.categories.get(c) ?? c;
  const subcategoryLabel = (s) => (s == null ? 'No subcategory' : state.labels.subcategories.get(s) ?? s);
  const bucketLabel = (v) => (v == null ? '(none)' : v);

  /** Sets an output's text and its raw value (`data-value`, empty for null). */
  function show(id, value, format) {
    const el = $(id);
    el.textContent = format(value);
    el.dataset.value = value == null ? '' : String(value);
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    node.append(...children.filter((c) => c != null));
    return node;
  }

  // ---- Token --------------------------------------------------------------------------

  /** A token from the link (`#token=...`) wins; it is then taken out of the address bar. */
  function tokenFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const token = params.get('token');
    if (!token) return null;
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
    return token.trim();
  }

  function setToken(token) {
    state.token = token || null;
    if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
    else sessionStorage.removeItem(TOKEN_KEY);
    $('token-form').hidden = !!state.token;
    $('session').hidden = !state.token;
    if (!state.token) $('viewer').textContent = '';
  }

  // ---- Filter -------------------------------------------------------------------------

  /** The `TicketFilter` of the filter bar, or null for every ticket. */
  function currentFilter() {
    const form = $('filters');
    const filter = {};
    const from = form.from.value;
    const to = form.to.value;
    if (from || to) {
      filter.createdAt = {};
      if (from) filter.createdAt.gte = `${from}T00:00:00Z`;
      // Timestamps are stored to the microsecond: this is the whole of the last day.
      if (to) filter.createdAt.lte = `${to}T23:59:59.999999Z`;
    }
    for (const field of ['source', 'priority', 'status']) {
      const value = form[field].value;
      if (value === NONE) filter[field] = { isNull: true };
      else if (value) filter[field] = { eq: value };
    }
    const tags = form.tags.value.split(',').map((t) => t.trim()).filter(Boolean);
    if (tags.length) filter.tags = { containsAll: tags };
    if (form.user.value === 'with') filter.user = { isNull: false };
    if (form.user.value === 'without') filter.user = { isNull: true };
    return Object.keys(filter).length ? filter : null;
  }

  /** The filter bar's fields, kept in the fragment so a link reopens the same view. */
  const FILTER_FIELDS = ['from', 'to', 'source', 'priority', 'status', 'tags', 'user'];

  function filterFromFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    const form = $('filters');
    for (const name of FILTER_FIELDS) {
      const value = params.get(name);
      if (value == null) continue;
      const field = form[name];
      if (field.tagName === 'SELECT' && ![...field.options].some((o) => o.value === value)) {
        field.append(new Option(value === NONE ? '(none)' : value, value));
      }
      field.value = value;
    }
    const period = params.get('period');
    if (period) {
      const radio = document.querySelector(`#period input[value="${CSS.escape(period)}"]`);
      if (radio) radio.checked = true;
    }
  }

  function filterToFragment() {
    const form = $('filters');
    const params = new URLSearchParams();
    for (const name of FILTER_FIELDS) {
      if (form[name].value) params.set(name, form[name].value);
    }
    if (period() !== 'WEEK') params.set('period', period());
    const hash = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (hash ? `#${hash}` : ''));
  }

  const period = () => document.querySelector('#period input:checked')?.value ?? 'WEEK';
  const basis = () => document.querySelector('#basis input:checked')?.value ?? 'humanVerified';

  /** Adds the values a breakdown shows to its select, keeping the one chosen. */
  function learnOptions(field, buckets) {
    const seen = state.seen[field];
    const select = $(`filter-${field}`);
    const chosen = select.value;
    if (chosen) seen.add(chosen);
    for (const b of buckets) seen.add(b.value == null ? NONE : b.value);
    const values = [...seen].sort((a, b) => (a === NONE) - (b === NONE) || a.localeCompare(b));
    select.replaceChildren(new Option('Any', ''), ...values.map((v) => new Option(v === NONE ? '(none)' : v, v)));
    select.value = chosen;
  }

  // ---- Talking to the API -------------------------------------------------------------

  class ApiError extends Error {
    constructor(words, { retryable = false, code = null, status = 0 } = {}) {
      super(words);
      this.retryable = retryable;
      this.code = code;
      this.status = status;
    }
  }

  const seconds = (n) => `${n} second${n === 1 ? '' : 's'}`;

  /** One GraphQL request with the token; the data, or an ApiError that says what happened. */
  async function graphql(query, variables, signal) {
    let response;
    try {
      response = await fetch('/graphql', {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Accept: 'application/graphql-response+json, application/json;q=0.9',
          Authorization: `Bearer ${state.token}`,
        },
        body: JSON.stringify({ query, variables }),
        signal,
      });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError('The gateway cannot be reached: check your connection, or whether the server is running.', { retryable: true });
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON (a proxy's error page, say): the status says enough.
    }
    const error = body?.errors?.[0];
    const code = error?.extensions?.code ?? null;
    const message = error?.message ?? '';
    const retryAfter = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
    const wait = Number.isFinite(retryAfter) ? ` Try again in ${seconds(retryAfter)}.` : ' Try again shortly.';

    if (response.status === 401 || code === 'UNAUTHENTICATED') {
      const words = /expired/i.test(message)
        ? 'Your token has expired. Paste a new one to go on.'
        : `The gateway refused this token: ${message || 'it is not valid'}. Paste another one.`;
      throw new ApiError(words, { code: 'UNAUTHENTICATED', status: response.status });
    }
    if (response.status === 429) {
      throw new ApiError(`Too many requests: the gateway is limiting how often this token may ask.${wait}`, { retryable: true, status: 429 });
    }
    if (code === 'TIMEOUT') {
      throw new ApiError(`The statistics took longer than the gateway allows, so it stopped them. Narrow the filter (a shorter date range, say) and try again.`, { retryable: true, code, status: response.status });
    }
    if (response.status === 503 || code === 'SERVICE_UNAVAILABLE') {
      throw new ApiError(`The gateway cannot reach its database right now.${wait}`, { retryable: true, code, status: response.status });
    }
    if (code === 'FORBIDDEN' || response.status === 403) {
      throw new ApiError(`This token may not read tickets: ${message || 'access denied'}.`, { code, status: response.status });
    }
    if (code === 'BAD_USER_INPUT') {
      throw new ApiError(`The gateway refused the filter: ${message}`, { code, status: response.status });
    }
    if (error || !response.ok || !body?.data) {
      const why = message || `HTTP ${response.status} ${response.statusText}`.trim();
      throw new ApiError(`The request failed: ${why}`, { retryable: response.status >= 500, code, status: response.status });
    }
    return body.data;
  }

  // ---- Messages to the user -----------------------------------------------------------

  function showError(error) {
    $('error-text').textContent = error.message;
    $('retry').hidden = !error.retryable;
    $('error').hidden = false;
  }

  function clearError() {
    $('error').hidden = true;
    $('error-text').textContent = '';
  }

  // ---- Refresh ------------------------------------------------------------------------

  const VIEWS = [...document.querySelectorAll('.view')];

  function setViews(viewState) {
    for (const view of VIEWS) {
      view.dataset.state = viewState;
      view.setAttribute('aria-busy', String(viewState === 'loading'));
    }
    document.body.dataset.state = viewState;
  }

  /** Loads every view with one request; a newer refresh cancels an older one. */
  async function refresh() {
    if (!state.token) return;
    state.inFlight?.abort();
    const controller = new AbortController();
    state.inFlight = controller;
    const filter = currentFilter();
    $('filters').dataset.filter = JSON.stringify(filter);
    filterToFragment();
    clearError();
    setViews('loading');
    const started = performance.now();
    const notice = $('notice');
    notice.textContent = 'Loading the statistics…';
    // A slow answer is visibly still coming; the page stays usable meanwhile.
    const ticker = setInterval(() => {
      notice.textContent = `Loading the statistics… ${Math.round((performance.now() - started) / 1000)} s`;
    }, 1000);
    try {
      const data = await graphql(QUERY, { filter, period: period() }, controller.signal);
      if (controller !== state.inFlight) return;
      state.data = data;
      render(data);
      state.generation += 1;
      $('views').dataset.generation = String(state.generation);
      setViews('ready');
      notice.textContent = `${count(data.stats.total)} tickets · updated ${new Date().toLocaleTimeString('en-GB')}`;
    } catch (e) {
      if (e.name === 'AbortError' || controller !== state.inFlight) return;
      setViews('error');
      notice.textContent = '';
      showError(e);
      state.retry = e.retryable ? refresh : null;
      if (e.code === 'UNAUTHENTICATED') {
        setToken(null);
        $('token-input').focus();
      }
    } finally {
      clearInterval(ticker);
      if (controller === state.inFlight) state.inFlight = null;
    }
  }

  // ---- Charts -------------------------------------------------------------------------

  function chart(id) {
    let instance = state.charts.get(id);
    if (!instance) {
      const node = $(id);
      instance = echarts.init(node, null, { renderer: 'canvas' });
      instance.on('finished', () => { node.dataset.rendered = 'true'; });
      new ResizeObserver(() => instance.resize()).observe(node);
      state.charts.set(id, instance);
    }
    $(id).dataset.rendered = 'false';
    return instance;
  }

  const BASE = {
    aria: { enabled: true },
    animationDuration: 300,
    animationDurationUpdate: 300,
    textStyle: { fontFamily: 'system-ui, sans-serif' },
  };

  /** A horizontal bar chart of labelled counts, largest on top; a click drills down. */
  function bars(id, items, onPick, color) {
    const node = $(id);
    node.style.height = `${Math.max(160, 40 + items.length * 28)}px`;
    const c = chart(id);
    c.off('click');
    c.setOption({
      ...BASE,
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'item', formatter: (p) => `${escapeHtml(p.name)}: ${count(p.value)}` },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: {
        type: 'category',
        inverse: true,
        data: items.map((i) => i.label),
        axisLabel: { width: 160, overflow: 'truncate' },
      },
      series: [{
        type: 'bar',
        data: items.map((i) => i.count),
        itemStyle: color ? { color } : undefined,
        label: { show: true, position: 'right' },
        cursor: 'pointer',
      }],
    }, true);
    c.on('click', (p) => onPick(items[p.dataIndex]));
    c.resize();
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  }

  /** The keyboard way in: a table whose first cell drills down. */
  function table(container, headings, rows) {
    const body = rows.map((row) => el('tr', { dataset: { key: JSON.stringify(row.key), count: String(row.count) } },
      el('th', { scope: 'row' }, el('button', { type: 'button', class: 'link', onclick: row.pick }, row.label)),
      ...row.cells.map((c) => el('td', {}, c))));
    container.replaceChildren(el('table', {},
      el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...body)));
    if (!rows.length) container.replaceChildren(el('p', { class: 'empty' }, 'Nothing to list.'));
  }

  function empty(id, words) {
    const node = $(id);
    const c = state.charts.get(id);
    if (c) c.clear();
    node.hidden = !!words;
    if (node.previousElementSibling?.classList.contains('empty-note')) node.previousElementSibling.remove();
    if (words) node.before(el('p', { class: 'empty-note' }, words));
  }

  // ---- Views --------------------------------------------------------------------------

  function render(data) {
    for (const c of data.categories.categories) state.labels.categories.set(c.value, c.label);
    for (const s of data.categories.subcategories) state.labels.subcategories.set(s.value, s.label);
    const v = data.viewer;
    $('viewer').textContent = v.access === 'ALL_AREAS'
      ? 'All-areas access'
      : `${v.access === 'USER' ? 'User' : 'Organization'} ${v.accessId}`;
    const s = data.stats;
    renderTotals(s);
    renderSankey(s.sankey);
    renderVolume(s.volume);
    renderTimes(s.resolution, s.firstResponse);
    for (const field of ['status', 'priority', 'source']) {
      renderBreakdown(field, s[`${field}Breakdown`]);
      learnOptions(field, s[`${field}Breakdown`]);
    }
    renderTop();
    renderAgreement(s.categorizationAgreement);
  }

  function renderTotals(s) {
    show('total', s.total, count);
    show('resolved', s.resolution.totalResolved, count);
    show('unresolved', s.resolution.totalUnresolved, count);
    show('resolution-rate', s.resolution.resolutionRate, percent);
    show('awaiting-response', s.firstResponse.awaitingResponse, count);
    show('awaiting-verification', s.categorizationAgreement.awaitingVerification, count);
  }

  function renderSankey(sankey) {
    const labels = new Map(sankey.nodes.map((n) => [n.id, n.label]));
    const view = $('view-sankey');
    const pickLink = (l) => drill(linkDrill(l));
    table(view.querySelector('.table'), ['Category → subcategory', 'Tickets'], sankey.links.map((l) => ({
      key: { category: l.category, subcategory: l.subcategory },
      count: l.value,
      label: `${labels.get(l.source)} → ${labels.get(l.target)}`,
      cells: [count(l.value)],
      pick: () => pickLink(l),
    })));
    if (!sankey.links.length) {
      empty('chart-sankey', 'No ticket has a human-verified category.');
      return;
    }
    empty('chart-sankey', null);
    const subcategories = sankey.nodes.filter((n) => n.id.startsWith('subcategory:')).length;
    const categories = sankey.nodes.length - subcategories;
    $('chart-sankey').style.height = `${Math.max(320, 16 * Math.max(subcategories, categories * 2))}px`;
    const c = chart('chart-sankey');
    c.off('click');
    c.setOption({
      ...BASE,
      tooltip: {
        trigger: 'item',
        formatter: (p) => (p.dataType === 'edge'
          ? `${escapeHtml(labels.get(p.data.source))} → ${escapeHtml(labels.get(p.data.target))}: ${count(p.value)}`
          : `${escapeHtml(labels.get(p.name))}: ${count(p.value)}`),
      },
      series: [{
        type: 'sankey',
        left: 8,
        right: 170,
        top: 8,
        bottom: 8,
        nodeGap: 6,
        draggable: false,
        emphasis: { focus: 'adjacency' },
        label: { formatter: (p) => labels.get(p.name), overflow: 'truncate', width: 160 },
        lineStyle: { color: 'gradient', curveness: 0.5, opacity: 0.35 },
        data: sankey.nodes.map((n) => ({ name: n.id })),
        links: sankey.links.map((l) => ({ ...l })),
      }],
    }, true);
    c.on('click', (p) => {
      if (p.dataType === 'edge') pickLink(p.data);
      else if (p.name.startsWith('category:')) {
        const link = sankey.links.find((l) => l.source === p.name);
        if (link) drill(topDrill('humanVerified', { category: link.category, label: labels.get(p.name) }));
      }
    });
    c.resize();
  }

  const PERIOD_WORDS = { DAY: 'day', WEEK: 'week', MONTH: 'month' };

  function periodLabel(date, per) {
    if (per === 'MONTH') return date.slice(0, 7);
    if (per === 'WEEK') return `week of ${date}`;
    return date;
  }

  function renderVolume(points) {
    const per = period();
    const view = $('view-volume');
    const pick = (p) => drill(volumeDrill(p, per));
    table(view.querySelector('.table'), [PERIOD_WORDS[per][0].toUpperCase() + PERIOD_WORDS[per].slice(1), 'Tickets'],
      points.map((p) => ({ key: { date: p.date }, count: p.count, label: periodLabel(p.date, per), cells: [count(p.count)], pick: () => pick(p) })));
    if (!points.length) {
      empty('chart-volume', 'No tickets in this range.');
      return;
    }
    empty('chart-volume', null);
    const c = chart('chart-volume');
    c.off('click');
    const many = points.length > 120;
    c.setOption({
      ...BASE,
      grid: { left: 24, right: 24, top: 16, bottom: many ? 56 : 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: { type: 'category', data: points.map((p) => (per === 'MONTH' ? p.date.slice(0, 7) : p.date)) },
      yAxis: { type: 'value', minInterval: 1 },
      dataZoom: many ? [{ type: 'inside' }, { type: 'slider', height: 20, bottom: 8 }] : [],
      series: [{ type: 'bar', name: 'Tickets', data: points.map((p) => p.count), cursor: 'pointer' }],
    }, true);
    c.on('click', (p) => pick(points[p.dataIndex]));
    c.resize();
  }

  function renderTimes(resolution, firstResponse) {
    show('resolution-average', resolution.averageHours, hours);
    show('resolution-median', resolution.medianHours, hours);
    show('resolution-p90', resolution.p90Hours, hours);
    show('first-response-average', firstResponse.averageHours, hours);
    show('first-response-median', firstResponse.medianHours, hours);
    show('first-response-p90', firstResponse.p90Hours, hours);
    show('responded', firstResponse.responded, count);
    const c = chart('chart-times');
    const round = (h) => (h == null ? null : Math.round(h * 10) / 10);
    c.setOption({
      ...BASE,
      legend: { bottom: 0 },
      grid: { left: 8, right: 16, top: 28, bottom: 32, containLabel: true },
      tooltip: { trigger: 'axis', valueFormatter: (h) => hours(h) },
      xAxis: { type: 'category', data: ['Average', 'Median', 'p90'] },
      yAxis: { type: 'value', name: 'hours' },
      series: [
        { type: 'bar', name: 'Resolution', data: [resolution.averageHours, resolution.medianHours, resolution.p90Hours].map(round) },
        { type: 'bar', name: 'First response', data: [firstResponse.averageHours, firstResponse.medianHours, firstResponse.p90Hours].map(round) },
      ],
    }, true);
    c.resize();
  }

  function renderBreakdown(field, buckets) {
    const view = $(`view-${field}`);
    const items = buckets.map((b) => ({ ...b, label: bucketLabel(b.value) }));
    const pick = (b) => drill(bucketDrill(field, b));
    table(view.querySelector('.table'), [field[0].toUpperCase() + field.slice(1), 'Tickets', 'Share'], items.map((b) => ({
      key: { value: b.value },
      count: b.count,
      label: b.label,
      cells: [count(b.count), percent(b.percentage)],
      pick: () => pick(b),
    })));
    const id = `chart-${field}`;
    if (!items.length) {
      empty(id, 'No tickets.');
      return;
    }
    empty(id, null);
    bars(id, items, pick);
  }

  function renderTop() {
    const data = state.data;
    if (!data) return;
    const chosen = basis();
    const top = data.stats[chosen];
    const categories = top.categories.map((c) => ({ ...c, label: c.label }));
    const subcategories = top.subcategories.map((s) => ({ ...s, label: `${s.label} (${categoryLabel(s.category)})` }));
    const pickCategory = (c) => drill(topDrill(chosen, { category: c.category, label: c.label }));
    const pickSubcategory = (s) => drill(topDrill(chosen, { category: s.category, subcategory: s.subcategory, label: s.label }));
    $('view-top').dataset.basis = chosen;
    table($('table-top-categories'), ['Category', 'Tickets', 'Share'], categories.map((c) => ({
      key: { category: c.category }, count: c.count, label: c.label, cells: [count(c.count), percent(c.percentage)], pick: () => pickCategory(c),
    })));
    table($('table-top-subcategories'), ['Subcategory', 'Tickets', 'Share'], subcategories.map((s) => ({
      key: { category: s.category, subcategory: s.subcategory }, count: s.count, label: s.label, cells: [count(s.count), percent(s.percentage)], pick: () => pickSubcategory(s),
    })));
    const words = `No ticket has ${BASES[chosen].label === 'AI' ? 'an AI' : `a ${BASES[chosen].label}`} category.`;
    if (categories.length) {
      empty('chart-top-categories', null);
      bars('chart-top-categories', categories, pickCategory);
    } else empty('chart-top-categories', words);
    if (subcategories.length) {
      empty('chart-top-subcategories', null);
      bars('chart-top-subcategories', subcategories, pickSubcategory, '#91cc75');
    } else empty('chart-top-subcategories', words.replace('category', 'subcategory'));
  }

  function renderAgreement(a) {
    show('compared', a.compared, count);
    show('category-agreement', a.categoryAgreementRate, percent);
    show('subcategory-agreement', a.subcategoryAgreementRate, percent);
    const view = $('view-agreement');
    const items = a.disagreements.map((d) => ({ ...d, label: `${categoryLabel(d.aiCategory)} → ${categoryLabel(d.humanCategory)}` }));
    const pick = (d) => drill(disagreementDrill(d));
    table(view.querySelector('.table'), ['AI → human-verified', 'Tickets'], items.map((d) => ({
      key: { aiCategory: d.aiCategory, humanCategory: d.humanCategory }, count: d.count, label: d.label, cells: [count(d.count)], pick: () => pick(d),
    })));
    if (!items.length) {
      empty('chart-disagreements', a.compared ? 'The AI and people agree on every compared ticket.' : 'No ticket has both an AI and a human-verified category.');
      return;
    }
    empty('chart-disagreements', null);
    bars('chart-disagreements', items, pick, '#ee6666');
  }

  // ---- Drill-down ---------------------------------------------------------------------
  //
  // Each list is the `tickets` connection of the very bucket clicked. The statistic is asked
  // again over the dashboard's filter narrowed to that bucket, so its answer holds that one
  // bucket (and opens one drill-down list), whose `tickets` lists exactly what it counted.

  const narrowed = (extra) => {
    const base = currentFilterForDrill();
    return base ? { and: [base, extra] } : extra;
  };
  // The filter the views were loaded with, not whatever the filter bar holds meanwhile.
  const currentFilterForDrill = () => JSON.parse($('filters').dataset.filter || 'null');
  const is = (value) => (value == null ? { isNull: true } : { eq: value });

  function linkDrill(link) {
    return {
      title: `${categoryLabel(link.category)} → ${subcategoryLabel(link.subcategory)}`,
      key: { view: 'sankey', category: link.category, subcategory: link.subcategory },
      filter: narrowed({ humanVerifiedCategory: is(link.category), humanVerifiedSubcategory: is(link.subcategory) }),
      selection: `sankey { links { category subcategory value ${TICKETS} } }`,
      pick: (s) => s.sankey.links.find((l) => l.category === link.category && l.subcategory === link.subcategory),
    };
  }

  function nextPeriod(date, per) {
    const d = new Date(`${date}T00:00:00Z`);
    if (per === 'DAY') d.setUTCDate(d.getUTCDate() + 1);
    else if (per === 'WEEK') d.setUTCDate(d.getUTCDate() + 7);
    else d.setUTCMonth(d.getUTCMonth() + 1);
    return d;
  }

  function volumeDrill(point, per) {
    const last = nextPeriod(point.date, per);
    last.setUTCDate(last.getUTCDate() - 1);
    return {
      title: `Created in the ${PERIOD_WORDS[per]} ${per === 'WEEK' ? 'starting ' : 'of '}${periodLabel(point.date, per).replace('week of ', '')}`,
      key: { view: 'volume', date: point.date, period: per },
      filter: narrowed({ createdAt: { gte: `${point.date}T00:00:00Z`, lte: `${last.toISOString().slice(0, 10)}T23:59:59.999999Z` } }),
      variables: { period: per },
      declarations: ', $period: VolumePeriod!',
      selection: `volume(groupBy: $period) { date count ${TICKETS} }`,
      pick: (s) => s.volume.find((p) => p.date === point.date),
    };
  }

  function bucketDrill(field, bucket) {
    return {
      title: `${field[0].toUpperCase() + field.slice(1)}: ${bucketLabel(bucket.value)}`,
      key: { view: field, value: bucket.value },
      filter: narrowed({ [field]: is(bucket.value) }),
      selection: `${field}Breakdown { value count ${TICKETS} }`,
      pick: (s) => s[`${field}Breakdown`].find((b) => b.value === bucket.value),
    };
  }

  /** One category (or subcategory under it) of a ranking, on its basis. */
  function topDrill(on, { category, subcategory, label }) {
    const side = (prefix) => {
      const f = { [`${prefix}Category`]: is(category) };
      if (subcategory !== undefined) f[`${prefix}Subcategory`] = is(subcategory);
      return f;
    };
    const extra = on === 'humanVerified'
      ? side('humanVerified')
      : on === 'aiGenerated'
        ? side('aiGenerated')
        // Effective: the human-verified side where there is one, else the AI's.
        : { or: [side('humanVerified'), { humanVerifiedCategory: { isNull: true }, and: [side('aiGenerated')] }] };
    const list = subcategory === undefined ? 'categories' : 'subcategories';
    return {
      title: `${label} (${BASES[on].label})`,
      key: { view: 'top', basis: on, category, subcategory: subcategory ?? null },
      filter: narrowed(extra),
      selection: `topCategories(limit: 1, basis: ${BASES[on].enum}) { ${list} { category ${list === 'subcategories' ? 'subcategory ' : ''}count ${TICKETS} } }`,
      pick: (s) => s.topCategories[list].find((c) => c.category === category && (subcategory === undefined || c.subcategory === subcategory)),
    };
  }

  function disagreementDrill(d) {
    return {
      title: `AI said ${categoryLabel(d.aiCategory)}, people ${categoryLabel(d.humanCategory)}`,
      key: { view: 'agreement', aiCategory: d.aiCategory, humanCategory: d.humanCategory },
      filter: narrowed({ aiGeneratedCategory: is(d.aiCategory), humanVerifiedCategory: is(d.humanCategory) }),
      selection: `categorizationAgreement(limit: 1) { disagreements { aiCategory humanCategory count ${TICKETS} } }`,
      pick: (s) => s.categorizationAgreement.disagreements.find((x) => x.aiCategory === d.aiCategory && x.humanCategory === d.humanCategory),
    };
  }

  async function drill(spec, page = { first: PAGE_SIZE }, opener = document.activeElement) {
    const dialog = $('drill');
    state.drill = { ...spec, page, opener: state.drill?.opener ?? opener, controller: new AbortController() };
    const current = state.drill;
    $('drill-title').textContent = spec.title;
    dialog.dataset.key = JSON.stringify(spec.key);
    dialog.dataset.state = 'loading';
    dialog.setAttribute('aria-busy', 'true');
    $('drill-state').textContent = 'Loading the tickets…';
    $('drill-previous').disabled = true;
    $('drill-next').disabled = true;
    if (!dialog.open) {
      $('drill-list').replaceChildren();
      $('drill-range').textContent = '';
      delete dialog.dataset.total;
      dialog.showModal();
    }
    const query = `query DashboardDrillDown($filter: TicketFilter, $first: Int, $after: String, $last: Int, $before: String${spec.declarations ?? ''}) {
  stats(filter: $filter) { ${spec.selection} }
}`;
    const variables = { filter: spec.filter, first: null, after: null, last: null, before: null, ...spec.variables, ...page };
    try {
      const data = await graphql(query, variables, current.controller.signal);
      if (state.drill !== current) return;
      const bucket = spec.pick(data.stats);
      const tickets = bucket?.tickets ?? { totalCount: 0, nodes: [], pageInfo: {} };
      dialog.dataset.total = String(tickets.totalCount);
      listTickets(tickets.nodes);
      const from = tickets.nodes.length ? pageStart(current, tickets) : 0;
      $('drill-range').textContent = tickets.nodes.length
        ? `${count(from)}–${count(from + tickets.nodes.length - 1)} of ${count(tickets.totalCount)}`
        : 'No tickets';
      current.from = from;
      current.size = tickets.nodes.length;
      $('drill-state').textContent = bucket ? `${count(tickets.totalCount)} tickets` : 'These tickets no longer match: refresh the dashboard.';
      $('drill-previous').disabled = !tickets.pageInfo.hasPreviousPage;
      $('drill-next').disabled = !tickets.pageInfo.hasNextPage;
      current.pageInfo = tickets.pageInfo;
      dialog.dataset.state = 'ready';
    } catch (e) {
      if (e.name === 'AbortError' || state.drill !== current) return;
      dialog.dataset.state = 'error';
      $('drill-state').textContent = e.message;
    } finally {
      if (state.drill === current) dialog.setAttribute('aria-busy', 'false');
    }
  }

  /** Where this page starts in the whole list (1-based), from the page before it. */
  function pageStart(current, tickets) {
    const previous = current.previousPage;
    if (!previous) return 1;
    if (current.page.after) return previous.from + previous.size;
    if (current.page.before) return Math.max(1, previous.from - tickets.nodes.length);
    return 1;
  }

  function turnPage(forward) {
    const current = state.drill;
    if (!current?.pageInfo) return;
    current.controller.abort();
    const page = forward
      ? { first: PAGE_SIZE, after: current.pageInfo.endCursor }
      : { last: PAGE_SIZE, before: current.pageInfo.startCursor };
    const spec = { ...current, previousPage: { from: current.from, size: current.size } };
    drill(spec, page);
  }

  function listTickets(nodes) {
    const items = nodes.map((t) => {
      const meta = [t.status, t.priority, t.source, t.user?.fullName ?? 'no user', `created ${t.createdAt.slice(0, 10)}`]
        .filter(Boolean).join(' · ');
      const messages = el('div', { class: 'conversation' });
      const details = el('details', {},
        el('summary', {}, el('span', { class: 'subject' }, t.subject ?? '(no subject)'), el('span', { class: 'meta' }, meta)),
        messages);
      details.addEventListener('toggle', () => {
        if (details.open && !messages.dataset.loaded) loadMessages(t.id, messages);
      });
      return el('li', { dataset: { ticketId: t.id } }, details);
    });
    $('drill-list').replaceChildren(...items);
  }

  async function loadMessages(id, container) {
    container.dataset.loaded = 'loading';
    container.replaceChildren(el('p', { class: 'muted' }, 'Loading the conversation…'));
    try {
      const data = await graphql(MESSAGES, { id });
      const messages = data.ticket?.messages ?? [];
      container.replaceChildren(messages.length
        ? el('ol', { class: 'messages-list' }, ...messages.map((m) => el('li', { dataset: { messageType: m.messageType } },
          el('p', { class: 'who' }, `${MESSAGE_TYPES[m.messageType] ?? m.messageType} · ${m.createdAt.replace('T', ' ').slice(0, 16)} UTC`),
          el('p', { class: 'text' }, m.message))))
        : el('p', { class: 'muted' }, 'No messages.'));
      container.dataset.loaded = 'true';
    } catch (e) {
      container.replaceChildren(el('p', { class: 'error' }, e.message));
      delete container.dataset.loaded;
    }
  }

  function closeDrill() {
    const opener = state.drill?.opener;
    state.drill?.controller.abort();
    state.drill = null;
    const dialog = $('drill');
    if (dialog.open) dialog.close();
    if (opener && document.contains(opener)) opener.focus();
  }

  // ---- Wiring -------------------------------------------------------------------------

  function start() {
    if (typeof echarts === 'undefined') {
      showError(new ApiError('The charting library did not load: reload the page.'));
      return;
    }
    const fromLink = tokenFromFragment();
    filterFromFragment();
    setToken(fromLink ?? sessionStorage.getItem(TOKEN_KEY));

    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token-input').value.trim().replace(/^Bearer\s+/i, '');
      $('token-input').value = '';
      if (!token) return;
      setToken(token);
      refresh();
    });
    $('forget-token').addEventListener('click', () => {
      state.inFlight?.abort();
      setToken(null);
      setViews('idle');
      $('notice').textContent = 'Token forgotten. Paste one to see the statistics.';
      $('token-input').focus();
    });
    $('refresh').addEventListener('click', () => refresh());
    $('retry').addEventListener('click', () => (state.retry ?? refresh)());

    const filters = $('filters');
    let pending = null;
    const soon = () => {
      clearTimeout(pending);
      pending = setTimeout(refresh, 150);
    };
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      clearTimeout(pending);
      refresh();
    });
    filters.addEventListener('change', soon);
    filters.addEventListener('reset', () => setTimeout(refresh, 0));
    $('period').addEventListener('change', () => refresh());
    $('basis').addEventListener('change', () => renderTop());

    $('drill-close').addEventListener('click', closeDrill);
    $('drill').addEventListener('cancel', (event) => {
      event.preventDefault();
      closeDrill();
    });
    $('drill').addEventListener('click', (event) => {
      // A click on the backdrop (outside the dialog's box) closes it.
      if (event.target === $('drill')) {
        const r = $('drill').getBoundingClientRect();
        const inside = event.clientX >= r.left && event.clientX <= r.right && event.clientY >= r.top && event.clientY <= r.bottom;
        if (!inside) closeDrill();
      }
    });
    $('drill-next').addEventListener('click', () => turnPage(true));
    $('drill-previous').addEventListener('click', () => turnPage(false));

    // A link with a token opened in a tab that already shows the dashboard.
    window.addEventListener('hashchange', () => {
      const token = tokenFromFragment();
      if (!token) return;
      setToken(token);
      refresh();
    });

    if (state.token) refresh();
    else $('notice').textContent = 'Paste a token to see the statistics.';
  }

  start();
})();
