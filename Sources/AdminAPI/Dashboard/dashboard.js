// CaseHub administrators' dashboard. Plain browser JavaScript, no libraries:
// agency networks are often offline, so nothing is fetched from elsewhere.
// Every value from the API reaches the page through textContent or an SVG
// attribute, never through innerHTML: case text cannot become markup.
"use strict";

const POLL_MS = 5000;

const TEXT = {
  zh: {
    title: "CaseHub 案件协同枢纽", window: "时间窗口", w15m: "15 分钟", w1h: "1 小时", w24h: "24 小时", w7d: "7 天",
    connecting: "连接中…", updated: "已更新", stale: "连接中断，正在重试", signOut: "退出", switchTo: "English",
    signInTitle: "管理员登录", signInHelp: "请输入管理员令牌（由 casehub admin token 生成）。令牌只保存在本浏览器标签页中。",
    signIn: "登录", badToken: "令牌无效或已被吊销。", notAdmin: "这是机构的令牌，不能打开管理员界面。",
    flowMap: "机构间事件流", flowMapHint: "线宽表示时间窗口内送达的事件数；红色数字为被拒收的事件。",
    throughput: "吞吐量与送达延迟", backlog: "发件箱积压与消费延迟", deadlineBoard: "法定期限看板", rejections: "拒收记录",
    caseSearch: "案件查询", group: "消费组", topic: "主题", partition: "分区数", lag: "积压", stage: "状态", dueAt: "届满时间",
    procedure: "程序", rule: "期限", obliged: "义务机关", case: "案件", receivedAt: "时间", sender: "发送方", type: "事件类型",
    code: "代码", reason: "原因", status: "状态", holder: "承办机构", updatedAt: "更新时间", search: "查询",
    allStages: "全部（预警与逾期）", allProcedures: "全部程序", allAgencies: "全部机构",
    codeFilter: "拒收代码，如 transition.illegal", numberPlaceholder: "任一机构的案号，或案件 ID",
    footer: "数据每 5 秒自动刷新。", "stage.warning": "预警", "stage.overdue": "逾期", "stage.running": "计时中",
    "state.running": "计时中", "state.met": "已履行", "state.closed": "已关闭", "state.overdue": "逾期",
    "state.met-late": "逾期履行", "state.stopped": "已停止", "state.suspended": "中止计算", "state.awaiting-service": "待送达", declared: "发送方所称时间", imported: "历史补录", "state.warning": "预警", dueDate: "期限届满日",
    events: "已受理事件", cases: "案件", outboxBacklog: "发件箱积压", warnings: "期限预警", overdue: "期限逾期",
    openRejections: "待处理拒收", unacked: "未确认送达", hubLag: "枢纽消费积压", outboxParked: "滞留记录",
    parked: "滞留的发件箱记录", parkedHint: "这些记录无法发布（过大、无权限或主题不存在），同一案件的后续记录在其后等待；其他机构的送达不受影响。",
    record: "记录", parkedAt: "滞留时间", retry: "重试", discard: "丢弃", actionReason: "原因（将记入审计）", waitsBehind: "等待于",
    released: "已放行", actionDone: "已提交，发件箱将在下一轮处理。",
    deliveries: "送达", refusals: "拒收", latencyP99: "送达延迟 p99（秒）", noData: "暂无数据",
    rejectionsHint: "枢纽拒收的事件，以及各机构接入端以 4xx 拒绝的请求；冒用其他机构身份的请求以红色标出。",
    allRejectionStages: "全部环节", refusedBy: "拒收环节", "rejectionStage.hub": "枢纽", "rejectionStage.adapter": "接入端",
    impersonation: "冒用身份", asAgency: "冒充", token: "令牌", notReplayable: "接入端拒收的请求未到达枢纽，不能重放",
    replay: "重放", replayReason: "重放原因（将记入审计）", confirm: "确认", cancel: "取消", replayed: "已重放",
    replayDone: "已提交重放，枢纽将重新审查。", noCases: "没有找到案件。", recentCases: "最近更新的案件",
    chainIntact: "审计链完整", chainBroken: "审计链断裂", checkedEntries: "条记录已校验", numbers: "各机构案号",
    deadlines: "期限", events2: "事件与回执", accepted: "已受理", refused: "已拒收", admin: "枢纽记录", links: "关联案件",
    version: "版本", opened: "立案", total: "合计", close: "关闭", byProcedure: "按程序", byAgency: "按义务机关",
    "kind.environment-bureau": "生态环境部门", "kind.procuratorate": "检察机关", "kind.court": "审判机关",
    "kind.discipline-commission": "纪检监察机关", "kind.public-security": "公安机关", "kind.hub": "枢纽", "kind.unknown": "未登记",
    hub: "CaseHub 枢纽（期限提醒、回执）",
    "procedure.referral": "线索移送", "procedure.crime-transfer": "涉嫌犯罪移送", "procedure.administrative-pil": "行政公益诉讼",
    "procedure.civil-pil": "民事公益诉讼", "procedure.accountability": "追责问责", "procedure.damage-compensation": "生态损害赔偿",
  },
  en: {
    title: "CaseHub integration hub", window: "Window", w15m: "15 minutes", w1h: "1 hour", w24h: "24 hours", w7d: "7 days",
    connecting: "Connecting…", updated: "Updated", stale: "Connection lost, retrying", signOut: "Sign out", switchTo: "中文",
    signInTitle: "Administrator sign-in", signInHelp: "Enter an administrator's token (from casehub admin token). It is kept in this browser tab only.",
    signIn: "Sign in", badToken: "The token is unknown or revoked.", notAdmin: "This is an agency's token; it does not open the administrators' view.",
    flowMap: "Event flows between agencies", flowMapHint: "Line width: events delivered in the window. Red numbers: refused events.",
    throughput: "Throughput and delivery latency", backlog: "Outbox backlog and consumer lag", deadlineBoard: "Statutory deadlines",
    rejections: "Refused events", caseSearch: "Case search", group: "Group", topic: "Topic", partition: "Partitions", lag: "Lag",
    stage: "Stage", dueAt: "Due", procedure: "Procedure", rule: "Deadline", obliged: "Obliged agency", case: "Case",
    receivedAt: "Received", sender: "Sender", type: "Event type", code: "Code", reason: "Reason", status: "Status",
    holder: "Holder", updatedAt: "Updated", search: "Search", allStages: "All (warning and overdue)", allProcedures: "All procedures",
    allAgencies: "All agencies", codeFilter: "Refusal code, e.g. transition.illegal", numberPlaceholder: "Any agency's number, or a case id",
    footer: "Refreshes every 5 seconds.", "stage.warning": "warning", "stage.overdue": "overdue", "stage.running": "running",
    "state.running": "running", "state.met": "met", "state.closed": "closed", "state.overdue": "overdue",
    "state.met-late": "met late", "state.stopped": "stopped", "state.suspended": "suspended", "state.awaiting-service": "awaiting service", declared: "time declared by the sender", imported: "back-filled", "state.warning": "warning", dueDate: "Last day",
    events: "Events accepted", cases: "Cases", outboxBacklog: "Outbox backlog", warnings: "Deadlines in warning",
    overdue: "Deadlines overdue", openRejections: "Refusals not replayed", unacked: "Unacknowledged deliveries", hubLag: "Hub consumer lag",
    outboxParked: "Parked records", parked: "Parked outbox records",
    parkedHint: "These records cannot be published (too large, unauthorised, unknown topic); their cases' later records wait behind them. Other deliveries flow.",
    record: "Record", parkedAt: "Parked", retry: "Retry", discard: "Discard", actionReason: "Why (audited)", waitsBehind: "waits behind",
    released: "released", actionDone: "Done; the relay acts on it at its next round.",
    deliveries: "Deliveries", refusals: "Refusals", latencyP99: "Delivery latency p99 (s)", noData: "No data yet",
    rejectionsHint: "Events the hub refused, and agencies' requests their adapters answered with a 4xx; one agency acting as another is marked red.",
    allRejectionStages: "All stages", refusedBy: "Refused by", "rejectionStage.hub": "hub", "rejectionStage.adapter": "adapter",
    impersonation: "impersonation", asAgency: "as", token: "token", notReplayable: "Refused by the adapter; it never reached the hub, so it cannot be replayed",
    replay: "Replay", replayReason: "Why it may pass now (audited)", confirm: "Confirm", cancel: "Cancel", replayed: "replayed",
    replayDone: "Replay queued; the hub will judge the event again.", noCases: "No case found.", recentCases: "Recently updated cases",
    chainIntact: "Audit chain intact", chainBroken: "Audit chain broken", checkedEntries: "entries checked", numbers: "Numbers",
    deadlines: "Deadlines", events2: "Events and receipts", accepted: "accepted", refused: "refused", admin: "hub record", links: "Linked cases",
    version: "version", opened: "opened", total: "Total", close: "Close", byProcedure: "By procedure", byAgency: "By obliged agency",
    "kind.environment-bureau": "Environment bureaus", "kind.procuratorate": "Procuratorates", "kind.court": "Courts",
    "kind.discipline-commission": "Discipline commissions", "kind.public-security": "Public security", "kind.hub": "Hub",
    "kind.unknown": "Not registered", hub: "CaseHub (notices, receipts)",
    "procedure.referral": "Referral", "procedure.crime-transfer": "Crime transfer", "procedure.administrative-pil": "Administrative PIL",
    "procedure.civil-pil": "Civil PIL", "procedure.accountability": "Accountability", "procedure.damage-compensation": "Damage compensation",
  },
};

const KIND_ORDER = ["environment-bureau", "public-security", "procuratorate", "court", "discipline-commission", "hub", "unknown"];
/** The source of the events the hub itself issues (deadline notices, receipts). */
const HUB_SOURCE = "casehub-hub";

const state = {
  language: localStorage.getItem("casehub.language") || "zh",
  token: sessionStorage.getItem("casehub.token") || "",
  agencies: [],
  backlogHistory: [],
  openCase: null,
  timer: null,
  replaying: null,
  resolving: null,
};

// ---- small helpers ---------------------------------------------------------

function t(key) { return TEXT[state.language][key] ?? TEXT.zh[key] ?? key; }
function $(id) { return document.getElementById(id); }

/** `node` with its attributes set and children appended (text as text nodes, never as markup). */
function filled(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    // Through the CSSOM: the content security policy refuses style attributes.
    else if (name === "style") Object.assign(node.style, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element. */
function h(tag, attributes = {}, ...children) { return filled(document.createElement(tag), attributes, children); }

const SVG_NS = "http://www.w3.org/2000/svg";
/** An SVG element. */
function s(tag, attributes = {}, ...children) { return filled(document.createElementNS(SVG_NS, tag), attributes, children); }

function agencyName(id) {
  const agency = state.agencies.find((a) => a.id === id);
  return agency ? agency.name : id;
}

function formatTime(text) {
  if (!text) return "–";
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return String(text);
  return date.toLocaleString(state.language === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

/** A deadline's last day (`YYYY-MM-DD`, a China date): 2025年3月9日 in Chinese, as written; as given in English. */
function formatDay(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
  if (!match) return text || "–";
  return state.language === "zh" ? `${match[1]}年${Number(match[2])}月${Number(match[3])}日` : text;
}

function caseLink(id) {
  return h("a", { href: "#case=" + encodeURIComponent(id), class: "case-link" }, id);
}

class HTTPError extends Error {
  constructor(status, problem) { super(problem?.detail || "HTTP " + status); this.status = status; this.problem = problem; }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: "Bearer " + state.token, Accept: "application/json", ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new HTTPError(response.status, body);
  return body;
}

// ---- language ----------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.language === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  $("language").textContent = t("switchTo");
}

// ---- sign-in -------------------------------------------------------------------

function showSignIn(message) {
  $("board").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
  clearTimeout(state.timer);
}

async function signIn(token) {
  state.token = token;
  try {
    await api("/v1/overview");
  } catch (error) {
    state.token = "";
    sessionStorage.removeItem("casehub.token");
    showSignIn(error.status === 403 ? t("notAdmin") : error.status === 401 ? t("badToken") : error.message);
    return false;
  }
  sessionStorage.setItem("casehub.token", token);
  $("sign-in").hidden = true;
  $("board").hidden = false;
  const agencies = await api("/v1/agencies");
  state.agencies = agencies.agencies;
  fillAgencySelects();
  fillProcedureSelect();
  await refresh();
  openCaseFromHash();
  return true;
}

/** A link may carry `#token=…` (never sent to the server); it is moved to this tab's storage at once. */
function takeTokenFromHash() {
  const parameters = new URLSearchParams(location.hash.slice(1));
  const token = parameters.get("token");
  if (!token) return null;
  parameters.delete("token");
  const rest = parameters.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? "#" + rest : ""));
  return token;
}

// ---- refresh loop ---------------------------------------------------------------

async function refresh() {
  clearTimeout(state.timer);
  const windowSeconds = Number($("window").value);
  const until = new Date();
  const since = new Date(until.getTime() - windowSeconds * 1000);
  const bucket = Math.max(1, Math.ceil(windowSeconds / 40));
  const flowQuery = `since=${encodeURIComponent(since.toISOString())}&until=${encodeURIComponent(until.toISOString())}`;
  try {
    // One flows request: the flow map sums the chart's buckets.
    const [overview, flows, lag, deadlines, rejections, parked] = await Promise.all([
      api("/v1/overview"),
      api(`/v1/flows?${flowQuery}&bucket=${bucket}`),
      api("/v1/lag").catch((error) => ({ partitions: [], total: {}, unavailable: error.message })),
      api("/v1/deadlines?" + deadlineQuery()),
      api("/v1/rejections?" + rejectionQuery()),
      api("/v1/outbox/parked"),
    ]);
    state.backlogHistory.push({ at: until, backlog: overview.outboxBacklog });
    if (state.backlogHistory.length > 120) state.backlogHistory.shift();
    renderTiles(overview, lag);
    renderFlowMap(flows);
    renderThroughput(flows, since, until, bucket);
    renderBacklog(lag);
    renderDeadlines(deadlines.deadlines);
    renderRejections(rejections.rejections);
    renderParked(parked.parked);
    if (state.openCase) await renderCase(state.openCase);
    $("error-banner").hidden = true;
    $("live").textContent = t("updated") + " " + until.toLocaleTimeString(state.language === "zh" ? "zh-CN" : "en-GB", { hour12: false });
    $("live").classList.remove("stale");
  } catch (error) {
    if (error.status === 401 || error.status === 403) return showSignIn(t("badToken"));
    $("live").textContent = t("stale");
    $("live").classList.add("stale");
    $("error-banner").hidden = false;
    $("error-banner").textContent = error.message;
  }
  state.timer = setTimeout(refresh, POLL_MS);
}

// ---- tiles -------------------------------------------------------------------------

function renderTiles(overview, lag) {
  const hubLag = Object.entries(lag.total || {}).filter(([group]) => group.endsWith("-hub")).reduce((sum, [, n]) => sum + n, 0);
  const tiles = [
    ["events", overview.events, ""],
    ["cases", overview.cases, ""],
    ["outboxBacklog", overview.outboxBacklog, overview.outboxBacklog > 1000 ? "warn" : ""],
    ["outboxParked", overview.outboxParked, overview.outboxParked > 0 ? "bad" : ""],
    ["warnings", overview.deadlines?.warning ?? 0, (overview.deadlines?.warning ?? 0) > 0 ? "warn" : ""],
    ["overdue", overview.deadlines?.overdue ?? 0, (overview.deadlines?.overdue ?? 0) > 0 ? "bad" : ""],
    ["openRejections", overview.rejectionsNotReplayed, overview.rejectionsNotReplayed > 0 ? "warn" : ""],
    ["unacked", overview.unacknowledgedDeliveries, ""],
    ["hubLag", lag.unavailable ? "?" : hubLag, hubLag > 1000 ? "warn" : ""],
  ];
  $("tiles").replaceChildren(...tiles.map(([key, value, tone]) =>
    h("div", { class: "tile " + tone, "data-tile": key }, h("div", { class: "value" }, value ?? 0), h("div", { class: "label" }, t(key)))));
}

// ---- flow map ------------------------------------------------------------------------

function renderFlowMap(flows) {
  const edges = new Map();
  for (const item of flows.deliveries) {
    const key = item.sender + "→" + item.receiver;
    const edge = edges.get(key) || { from: item.sender, to: item.receiver, count: 0, types: new Map() };
    edge.count += item.count;
    edge.types.set(item.type, (edge.types.get(item.type) || 0) + item.count);
    edges.set(key, edge);
  }
  const refused = new Map();
  for (const item of flows.refusals) refused.set(item.sender, (refused.get(item.sender) || 0) + item.count);

  // Agencies that take part: traffic ever, or traffic in the window. The hub
  // itself sends deadline notices and receipts, and stands in a column of its own.
  const involved = new Set([...edges.values()].flatMap((e) => [e.from, e.to]).concat([...refused.keys()]));
  const nodes = state.agencies.filter((a) => a.accepted > 0 || a.refused > 0 || involved.has(a.id));
  for (const id of involved) {
    if (!nodes.some((n) => n.id === id)) nodes.push({ id, name: id === HUB_SOURCE ? t("hub") : id, kind: id === HUB_SOURCE ? "hub" : "unknown" });
  }

  const kinds = KIND_ORDER.filter((k) => nodes.some((n) => n.kind === k));
  const columnWidth = 210, nodeWidth = 170, nodeHeight = 34, rowGap = 22, top = 110, margin = 90;
  const rows = Math.max(1, ...kinds.map((k) => nodes.filter((n) => n.kind === k).length));
  const width = Math.max(600, kinds.length * columnWidth), height = top + rows * (nodeHeight + rowGap) + margin;
  const position = new Map();
  const svg = s("svg", { id: "flow-map", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": t("flowMap") });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#2f6fb3" }))));
  kinds.forEach((kind, column) => {
    const x = column * columnWidth + (columnWidth - nodeWidth) / 2;
    svg.append(s("text", { x: x, y: 18, class: "kind-label" }, t("kind." + kind)));
    nodes.filter((n) => n.kind === kind).forEach((node, row) => {
      position.set(node.id, { x, y: top + row * (nodeHeight + rowGap) });
    });
  });

  const maxCount = Math.max(1, ...[...edges.values()].map((e) => e.count));
  const edgeLayer = s("g", { class: "edges" });
  for (const edge of edges.values()) {
    const a = position.get(edge.from), b = position.get(edge.to);
    if (!a || !b) continue;
    const forward = b.x >= a.x;
    const x1 = forward ? a.x + nodeWidth : a.x, y1 = a.y + nodeHeight / 2;
    const x2 = forward ? b.x : b.x + nodeWidth, y2 = b.y + nodeHeight / 2;
    // Curved, and to one side (forward up, backward down), so that A→B and
    // B→A stay apart; the farther apart, the higher the arc over the nodes between.
    const bend = a.x === b.x ? 60 : 24 + 0.2 * Math.abs(b.x - a.x);
    const cx = (x1 + x2) / 2 + (a.x === b.x ? bend : 0), cy = (y1 + y2) / 2 - (forward ? bend : -bend);
    const widthPx = 1 + 7 * Math.sqrt(edge.count / maxCount);
    const types = [...edge.types.entries()].map(([type, n]) => `${type}: ${n}`).join("\n");
    edgeLayer.append(s("path", {
      class: "edge", d: `M ${x1} ${y1} Q ${cx} ${cy} ${x2} ${y2}`, "stroke-width": widthPx.toFixed(1), "marker-end": "url(#arrow)",
      "data-from": edge.from, "data-to": edge.to, "data-count": edge.count,
    }, s("title", {}, `${agencyName(edge.from)} → ${agencyName(edge.to)}: ${edge.count}\n${types}`)));
    edgeLayer.append(s("text", { class: "edge-label", x: cx, y: cy }, edge.count));
  }
  svg.append(edgeLayer);

  for (const node of nodes) {
    const p = position.get(node.id);
    const refusals = refused.get(node.id) || 0;
    const group = s("g", { class: "node" + (refusals ? " refused" : ""), "data-agency": node.id, transform: `translate(${p.x} ${p.y})` },
      s("title", {}, `${node.name} (${node.id})`),
      s("rect", { width: nodeWidth, height: nodeHeight, rx: 5 }),
      s("text", { x: 8, y: 21 }, node.name.length > 12 ? node.name.slice(0, 12) + "…" : node.name));
    if (refusals) {
      group.append(s("g", { class: "refusal-badge", "data-refusals": refusals, transform: `translate(${nodeWidth} 0)` },
        s("title", {}, `${t("refusals")}: ${refusals}`),
        s("circle", { r: 10 }), s("text", { "text-anchor": "middle", y: 4 }, refusals)));
    }
    svg.append(group);
  }
  $("flow-map-holder").replaceChildren(nodes.length ? svg : h("p", { class: "hint" }, t("noData")));
}

// ---- throughput and latency ------------------------------------------------------------

function renderThroughput(flows, since, until, bucketSeconds) {
  const buckets = new Map();
  const slot = (text) => {
    const key = new Date(text).getTime();
    if (!buckets.has(key)) buckets.set(key, { deliveries: 0, refusals: 0, p99: 0 });
    return buckets.get(key);
  };
  for (const item of flows.deliveries) {
    const b = slot(item.bucket);
    b.deliveries += item.count;
    if (item.latencyP99Seconds != null) b.p99 = Math.max(b.p99, item.latencyP99Seconds);
  }
  for (const item of flows.refusals) slot(item.bucket).refusals += item.count;

  const width = 560, height = 200, left = 40, right = 44, bottom = 22, plot = height - bottom - 8;
  const start = since.getTime(), span = until.getTime() - start, step = bucketSeconds * 1000;
  const x = (time) => left + ((time - start) / span) * (width - left - right);
  const barWidth = Math.max(1, ((width - left - right) * step) / span - 1);
  const maxCount = Math.max(1, ...[...buckets.values()].map((b) => b.deliveries + b.refusals));
  const maxLatency = Math.max(0.001, ...[...buckets.values()].map((b) => b.p99));
  const svg = s("svg", { id: "throughput-svg", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": t("throughput") });
  svg.append(s("line", { class: "axis", x1: left, y1: 8 + plot, x2: width - right, y2: 8 + plot }));
  svg.append(s("text", { class: "axis-label", x: left - 4, y: 14, "text-anchor": "end" }, maxCount));
  svg.append(s("text", { class: "axis-label", x: width - right + 4, y: 14 }, maxLatency.toFixed(2) + "s"));
  svg.append(s("text", { class: "axis-label", x: left, y: height - 4 }, formatTime(since.toISOString())));
  svg.append(s("text", { class: "axis-label", x: width - right, y: height - 4, "text-anchor": "end" }, formatTime(until.toISOString())));
  const points = [];
  for (const [time, b] of [...buckets.entries()].sort((p, q) => p[0] - q[0])) {
    const deliveredHeight = (b.deliveries / maxCount) * plot, refusedHeight = (b.refusals / maxCount) * plot;
    svg.append(s("rect", { class: "bar-deliveries", x: x(time), y: 8 + plot - deliveredHeight, width: barWidth, height: deliveredHeight },
      s("title", {}, `${formatTime(new Date(time).toISOString())} ${t("deliveries")}: ${b.deliveries}, p99 ${b.p99.toFixed(3)}s`)));
    if (b.refusals) svg.append(s("rect", { class: "bar-refusals", x: x(time), y: 8 + plot - deliveredHeight - refusedHeight, width: barWidth, height: refusedHeight },
      s("title", {}, `${t("refusals")}: ${b.refusals}`)));
    if (b.deliveries) points.push(`${(x(time) + barWidth / 2).toFixed(1)},${(8 + plot - (b.p99 / maxLatency) * plot).toFixed(1)}`);
  }
  if (points.length) svg.append(s("polyline", { class: "line-latency", points: points.join(" ") }));
  $("throughput-chart").replaceChildren(svg, h("div", { class: "legend" },
    h("span", { class: "l-deliveries" }, t("deliveries")), h("span", { class: "l-refusals" }, t("refusals")),
    h("span", { class: "l-latency" }, t("latencyP99"))));
}

// ---- backlog and lag ------------------------------------------------------------------------

function renderBacklog(lag) {
  const history = state.backlogHistory, width = 560, height = 80;
  const max = Math.max(1, ...history.map((p) => p.backlog));
  const svg = s("svg", { id: "backlog-svg", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", "aria-label": t("outboxBacklog") });
  svg.append(s("text", { class: "axis-label", x: 4, y: 12 }, `${t("outboxBacklog")}: ${history.at(-1)?.backlog ?? 0} (max ${max})`));
  if (history.length > 1) {
    const points = history.map((p, i) => `${((i / (history.length - 1)) * (width - 8) + 4).toFixed(1)},${(height - 4 - (p.backlog / max) * (height - 24)).toFixed(1)}`);
    svg.append(s("polyline", { class: "line-backlog", points: points.join(" ") }));
  }
  $("backlog-chart").replaceChildren(svg);
  // Per group and topic (partitions summed), the largest lag first.
  const topics = new Map();
  for (const p of lag.partitions) {
    const key = p.group + " " + p.topic;
    const row = topics.get(key) || { group: p.group, topic: p.topic, partitions: 0, lag: 0 };
    row.partitions += 1;
    row.lag += p.lag;
    topics.set(key, row);
  }
  const rows = [...topics.values()].sort((a, b) => b.lag - a.lag || a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic));
  const maxLag = Math.max(1, ...rows.map((row) => row.lag));
  $("lag-table").tBodies[0].replaceChildren(...rows.map((row) =>
    h("tr", { "data-group": row.group, "data-topic": row.topic },
      h("td", {}, row.group), h("td", {}, row.topic), h("td", { class: "num" }, row.partitions), h("td", { class: "num" }, row.lag),
      h("td", { class: "bar-cell" }, h("div", { class: "bar", style: { width: `${((row.lag / maxLag) * 100).toFixed(0)}%` } })))));
  if (lag.unavailable) $("lag-table").tBodies[0].replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "error" }, lag.unavailable)));
}

// ---- deadlines ------------------------------------------------------------------------------

function deadlineQuery() {
  const query = new URLSearchParams();
  for (const [name, id] of [["state", "deadline-stage"], ["procedure", "deadline-procedure"], ["agency", "deadline-agency"]]) {
    if ($(id).value) query.set(name, $(id).value);
  }
  return query.toString();
}

function renderDeadlines(items) {
  const summary = (key) => {
    const counts = new Map();
    for (const item of items) {
      const row = counts.get(item[key]) || { warning: 0, overdue: 0 };
      row[item.stage] += 1;
      counts.set(item[key], row);
    }
    return counts;
  };
  const table = (title, counts, label) => h("table", { class: "deadline-summary" },
    h("thead", {}, h("tr", {}, h("th", {}, title), h("th", {}, t("stage.warning")), h("th", {}, t("stage.overdue")))),
    h("tbody", {}, [...counts.entries()].sort().map(([name, row]) =>
      h("tr", {}, h("td", {}, label(name)), h("td", { class: "num" }, row.warning), h("td", { class: "num" }, row.overdue)))));
  $("deadline-summary").replaceChildren(h("div", { class: "filters" },
    table(t("byProcedure"), summary("procedure"), (p) => t("procedure." + p)),
    table(t("byAgency"), summary("obligedAgency"), agencyName)));
  $("deadline-board").tBodies[0].replaceChildren(...items.map((item) =>
    h("tr", { "data-case": item.caseId, "data-stage": item.stage },
      h("td", {}, h("span", { class: "badge " + item.stage }, t("stage." + item.stage))),
      h("td", { title: formatTime(item.dueAt) }, formatDay(item.dueDate)),
      h("td", {}, t("procedure." + item.procedure)),
      h("td", { title: item.legalBasis || "" }, item.rule),
      h("td", {}, agencyName(item.obligedAgency)),
      h("td", {}, caseLink(item.caseId), " ", item.title || ""))));
}

// ---- rejections -----------------------------------------------------------------------------

/** The code of one agency's credential used to act as another: such rows stand out. */
const IMPERSONATION = "adapter.impersonation";

function rejectionQuery() {
  const query = new URLSearchParams({ limit: "100" });
  if ($("rejection-stage").value) query.set("stage", $("rejection-stage").value);
  if ($("rejection-agency").value) query.set("agency", $("rejection-agency").value);
  if ($("rejection-code").value.trim()) query.set("code", $("rejection-code").value.trim());
  return query.toString();
}

function renderRejections(items) {
  // A row whose replay form is open is left alone, so that typing is not lost.
  const open = state.replaying;
  $("rejections-table").tBodies[0].replaceChildren(...items.map((item) => {
    if (open && open.id === item.id) return open.row;
    const impersonation = item.code === IMPERSONATION;
    // Only the hub's refusals can be replayed: an adapter's never reached the hub.
    const action = item.stage === "adapter"
      ? h("span", { class: "muted", title: t("notReplayable") }, "–")
      : item.replayedAt
        ? h("span", { class: "badge closed", title: `${item.replayedBy || ""}: ${item.replayReason || ""}` }, t("replayed"))
        : h("button", { type: "button", onclick: () => openReplay(item, row) }, t("replay"));
    const meaning = item.meaning ? item.meaning[state.language] || item.meaning.zh : "";
    const row = h("tr", { "data-rejection": item.id, "data-stage": item.stage, class: impersonation ? "impersonation" : null },
      h("td", {}, formatTime(item.receivedAt)),
      h("td", {}, h("span", { class: "badge stage-" + item.stage }, t("rejectionStage." + item.stage)),
        item.httpStatus ? h("div", { class: "muted" }, "HTTP " + item.httpStatus) : null),
      h("td", {}, agencyName(item.source || ""),
        item.claimedAgency ? h("div", { class: "claimed" }, t("asAgency") + " " + agencyName(item.claimedAgency)) : null,
        item.tokenId ? h("div", { class: "muted", title: item.tokenLabel || "" }, `${t("token")} ${item.tokenId}${item.tokenLabel ? " (" + item.tokenLabel + ")" : ""}`) : null),
      h("td", {}, item.type || item.request || "–", item.caseId ? h("div", {}, caseLink(item.caseId)) : null),
      h("td", { title: meaning }, impersonation ? h("span", { class: "badge impersonation" }, t("impersonation")) : null, " ", h("code", {}, item.code)),
      h("td", {}, item.reason),
      h("td", {}, action));
    return row;
  }));
}

function openReplay(item, row) {
  state.replaying = { id: item.id, row };
  openReasonForm(row, {
    placeholder: t("replayReason"), confirm: t("confirm"), done: t("replayDone"), path: `/v1/rejections/${item.id}/replay`,
    close: () => { state.replaying = null; },
  });
}

/** An audited action's form in a row's last cell: the reason, confirm, cancel. */
function openReasonForm(row, { placeholder, confirm, done, path, close }) {
  const input = h("input", { type: "text", placeholder, maxlength: 1000 });
  const message = h("span", { class: "error" });
  const submit = async () => {
    try {
      await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason: input.value }) });
      message.className = "";
      message.textContent = done;
      close();
      setTimeout(refresh, 1000);
    } catch (error) {
      message.textContent = error.message;
    }
  };
  row.lastChild.replaceChildren(input, h("button", { type: "button", onclick: submit }, confirm),
    h("button", { type: "button", onclick: () => { close(); refresh(); } }, t("cancel")), message);
  input.focus();
}

// ---- parked outbox records ----------------------------------------------------------------

function renderParked(items) {
  $("parked").hidden = items.length === 0 && !state.resolving;
  const open = state.resolving;
  $("parked-table").tBodies[0].replaceChildren(...items.map((item) => {
    if (open && open.record === item.record) return open.row;
    let action;
    if (item.waitsBehind) action = h("span", { class: "hint" }, `${t("waitsBehind")} ${item.waitsBehind}`);
    else if (item.releaseRequested) action = h("span", { class: "badge closed" }, t("released"));
    else action = h("span", {},
      h("button", { type: "button", onclick: () => openResolve(item, row, "retry") }, t("retry")),
      h("button", { type: "button", onclick: () => openResolve(item, row, "discard") }, t("discard")));
    const row = h("tr", { "data-record": item.record },
      h("td", {}, h("code", {}, item.record)),
      h("td", {}, formatTime(item.parkedAt)),
      h("td", {}, item.topic),
      h("td", {}, item.type || "–", item.caseId ? h("div", {}, caseLink(item.caseId)) : null),
      h("td", {}, item.reason),
      h("td", {}, action));
    return row;
  }));
}

function openResolve(item, row, action) {
  state.resolving = { record: item.record, row };
  openReasonForm(row, {
    placeholder: t("actionReason"), confirm: t(action), done: t("actionDone"), path: `/v1/outbox/parked/${item.record}/${action}`,
    close: () => { state.resolving = null; },
  });
}

// ---- cases ----------------------------------------------------------------------------------

async function searchCases(text) {
  const query = text.trim();
  let cases = (await api("/v1/cases?" + new URLSearchParams(query ? { number: query, limit: "50" } : { limit: "10" }))).cases;
  if (query && cases.length === 0) {
    const direct = await api("/v1/cases/" + encodeURIComponent(query)).catch(() => null);
    if (direct) cases = [direct];
  }
  $("case-results").tBodies[0].replaceChildren(...(cases.length ? cases.map((item) =>
    h("tr", { "data-case": item.caseId },
      h("td", {}, caseLink(item.caseId), " ", item.title || ""),
      h("td", {}, t("procedure." + item.procedure)),
      h("td", {}, item.status),
      h("td", {}, agencyName(item.holder)),
      h("td", {}, formatTime(item.updatedAt))))
    : [h("tr", {}, h("td", { colspan: 5 }, t("noCases")))]));
}

async function renderCase(id) {
  const [detail, trail] = await Promise.all([
    api("/v1/cases/" + encodeURIComponent(id)),
    api("/v1/cases/" + encodeURIComponent(id) + "/events"),
  ]);
  const chain = trail.chain;
  const holder = $("case-timeline");
  holder.hidden = false;
  holder.dataset.case = id;
  holder.replaceChildren(...[
    h("h3", {}, `${detail.title || id}`),
    h("p", {}, h("code", {}, id), " · ", t("procedure." + detail.procedure), " · ", detail.status, " · ",
      t("holder"), ": ", agencyName(detail.holder), " · ", t("version"), " ", detail.version, " · ",
      h("span", { id: "chain-status", "data-intact": String(chain.intact), class: "badge " + (chain.intact ? "intact" : "broken") },
        chain.intact ? t("chainIntact") : t("chainBroken")),
      " ", `${chain.checked} ${t("checkedEntries")}`,
      " ", h("button", { type: "button", onclick: closeCase }, t("close"))),
    chain.breaks.length ? h("ul", { class: "error" }, chain.breaks.map((text) => h("li", {}, text))) : null,
    h("p", { class: "numbers" }, h("strong", {}, t("numbers"), ": "),
      Object.entries(detail.numbers || {}).map(([agency, number]) => h("span", {}, agencyName(agency), " ", h("code", {}, number)))),
    (detail.links || []).length ? h("p", {}, h("strong", {}, t("links"), ": "),
      detail.links.map((link) => [caseLink(link.caseID), ` (${link.relation}) `])) : null,
    h("h4", {}, t("deadlines")),
    h("table", { id: "case-deadlines" }, h("tbody", {}, (detail.deadlines || []).map((d) =>
      h("tr", { "data-rule": d.rule, "data-stage": d.stage },
        h("td", {}, h("span", { class: "badge " + d.stage }, t("state." + d.stage))),
        h("td", { title: d.rule }, (state.language === "zh" ? d.nameZH : d.nameEN) || d.rule),
        h("td", {}, agencyName(d.obligedAgency)),
        h("td", { class: "due-date", title: formatTime(d.dueAt) }, formatDay(d.dueDate)),
        h("td", {}, d.legalBasis || ""))))),
    h("h4", {}, t("events2")),
    h("ol", { id: "case-events" }, trail.events.map((event) =>
      h("li", { class: "event " + event.outcome, "data-seq": event.seq },
        h("span", { class: "when" }, formatTime(event.recordedAt)),
        // The hub's time counts; the sender's own, where it differs by more than a minute, stands beside it.
        Math.abs(Date.parse(event.occurredAt) - Date.parse(event.recordedAt)) > 60000
          ? h("span", { class: "declared hint" }, ` (${t("declared")} ${formatTime(event.occurredAt)})`) : null,
        h("span", { class: "badge " + event.outcome }, t(event.outcome)), " ",
        event.body && event.body.casehubimport ? h("span", { class: "badge imported" }, t("imported")) : null,
        h("code", {}, event.type), " ← ", agencyName(event.source),
        h("div", { class: "hint" }, `#${event.seq} · ${t("version")} ${event.caseVersion ?? "–"} · ${String(event.hash).slice(0, 16)}…`)))),
  ].filter((node) => node !== null));
}

function closeCase() {
  state.openCase = null;
  $("case-timeline").hidden = true;
  history.replaceState(null, "", location.pathname);
}

function openCaseFromHash() {
  const id = new URLSearchParams(location.hash.slice(1)).get("case");
  if (!id || $("board").hidden) return;
  state.openCase = id;
  renderCase(id).then(() => $("cases").scrollIntoView()).catch((error) => {
    $("case-timeline").hidden = false;
    $("case-timeline").replaceChildren(h("p", { class: "error" }, error.message));
  });
}

// ---- selects ----------------------------------------------------------------------------------

function fillAgencySelects() {
  for (const id of ["deadline-agency", "rejection-agency"]) {
    const select = $(id);
    select.replaceChildren(select.options[0], ...state.agencies.map((a) => h("option", { value: a.id }, a.name)));
  }
}

function fillProcedureSelect() {
  const procedures = Object.keys(TEXT.zh).filter((key) => key.startsWith("procedure.")).map((key) => key.slice(10));
  const select = $("deadline-procedure");
  select.replaceChildren(select.options[0], ...procedures.map((p) => h("option", { value: p, "data-i18n": "procedure." + p }, t("procedure." + p))));
}

// ---- start --------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  applyLanguage();
  $("language").addEventListener("click", () => {
    state.language = state.language === "zh" ? "en" : "zh";
    localStorage.setItem("casehub.language", state.language);
    applyLanguage();
    if (!$("board").hidden) refresh();
  });
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await signIn($("token-input").value.trim())) await searchCases("");
  });
  $("sign-out").addEventListener("click", () => { sessionStorage.removeItem("casehub.token"); state.token = ""; showSignIn(""); });
  for (const id of ["window", "deadline-stage", "deadline-procedure", "deadline-agency", "rejection-stage", "rejection-agency"]) {
    $(id).addEventListener("change", refresh);
  }
  $("rejection-code").addEventListener("change", refresh);
  $("case-search").addEventListener("submit", (event) => { event.preventDefault(); searchCases($("case-number").value).catch((e) => alert(e.message)); });
  window.addEventListener("hashchange", () => { takeTokenFromHash(); openCaseFromHash(); });

  // `#lang=en` or `#lang=zh` picks the language, as the switch does.
  const language = new URLSearchParams(location.hash.slice(1)).get("lang");
  if (language === "en" || language === "zh") { state.language = language; applyLanguage(); }
  const token = takeTokenFromHash() || state.token;
  if (token) signIn(token).then((signedIn) => signedIn && searchCases("")); else showSignIn("");
});
