/**
 * A small typed builder of Grafana dashboard JSON (schema 39): rows of time-series panels over
 * Prometheus, laid out three to a line, and the template variables they filter by. It writes only
 * the fields Grafana needs, so the generated chorus.json stays short and reviewable.
 *
 * Identity: the dashboard's uid is given; each panel and row has a uid of its own (a short key
 * written in the generator, never derived from the title, so renaming a panel keeps it), and its
 * numeric `id` — the one Grafana keys panels by (`viewPanel=` links) — is a hash of that uid, so
 * adding or moving a panel leaves every other panel's id as it was.
 */

/** The units the panels use (Grafana's unit ids). */
export type Unit = 'short' | 'ops' | 's' | 'Bps' | 'bytes';

/** A PromQL query and the legend of each series it returns (`{{label}}` names a label). */
export interface Query {
  expr: string;
  legend: string;
}

export interface TimeseriesSpec {
  /** Stable key, unique in the dashboard: [a-z0-9-]. */
  uid: string;
  title: string;
  unit: Unit;
  queries: Query[];
}

export interface RowSpec {
  uid: string;
  title: string;
  panels: TimeseriesSpec[];
}

/** A query template variable: its values are those of `label` on the series `query` names. */
export interface QueryVariableSpec {
  name: string;
  label: string;
  /** `label_values(<series>, <label>)` */
  query: string;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  tags: string[];
  /** Template variables after `datasource` (always first), each multi-valued with All as `.*`. */
  variables: QueryVariableSpec[];
  rows: RowSpec[];
}

export const query = (expr: string, legend: string): Query => ({ expr, legend });

export const timeseries = (spec: TimeseriesSpec): TimeseriesSpec => spec;

export const row = (uid: string, title: string, panels: TimeseriesSpec[]): RowSpec => ({ uid, title, panels });

/** `label_values(series, label)`, Grafana's Prometheus variable query. */
export const labelValues = (series: string, label: string): string => `label_values(${series}, ${label})`;

// --- Grafana JSON -------------------------------------------------------------------------------

interface DatasourceRef {
  type: 'prometheus';
  uid: '${datasource}';
}

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface RowPanel {
  id: number;
  uid: string;
  type: 'row';
  title: string;
  collapsed: false;
  gridPos: GridPos;
  panels: [];
}

export interface TimeseriesPanel {
  id: number;
  uid: string;
  type: 'timeseries';
  title: string;
  gridPos: GridPos;
  datasource: DatasourceRef;
  targets: Array<{ refId: string; expr: string; legendFormat: string; datasource: DatasourceRef }>;
  fieldConfig: { defaults: { unit: Unit }; overrides: [] };
  options: { legend: { displayMode: 'list'; placement: 'bottom' }; tooltip: { mode: 'multi' } };
}

export type Panel = RowPanel | TimeseriesPanel;

export interface DatasourceVariable {
  name: 'datasource';
  label: string;
  type: 'datasource';
  query: 'prometheus';
  current: Record<string, never>;
  hide: 0;
}

export interface QueryVariable {
  name: string;
  label: string;
  type: 'query';
  datasource: DatasourceRef;
  query: { query: string; refId: string };
  definition: string;
  includeAll: true;
  multi: true;
  allValue: '.*';
  current: { text: 'All'; value: '$__all' };
  /** 2: on a change of the time range. */
  refresh: 2;
  /** 1: alphabetical. */
  sort: 1;
  hide: 0;
}

export interface Dashboard {
  __inputs: Array<{ name: string; label: string; type: 'datasource'; pluginId: 'prometheus'; pluginName: 'Prometheus' }>;
  title: string;
  uid: string;
  tags: string[];
  timezone: 'browser';
  schemaVersion: 39;
  version: 1;
  refresh: string;
  time: { from: string; to: string };
  editable: true;
  templating: { list: Array<DatasourceVariable | QueryVariable> };
  annotations: { list: [] };
  panels: Panel[];
}

const datasource: DatasourceRef = { type: 'prometheus', uid: '${datasource}' };

/** Panels per line, and a panel's size in grid units (the grid is 24 wide). */
const PER_LINE = 3;
const PANEL_W = 24 / PER_LINE;
const PANEL_H = 8;

/** FNV-1a (32-bit) of `text`, folded to 1..999,999: a short, stable panel id. */
export function panelId(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return (hash % 999_999) + 1;
}

function timeseriesPanel(spec: TimeseriesSpec, gridPos: GridPos): TimeseriesPanel {
  return {
    id: panelId(spec.uid),
    uid: spec.uid,
    type: 'timeseries',
    title: spec.title,
    gridPos,
    datasource,
    targets: spec.queries.map((q, i) => ({ refId: String.fromCharCode(65 + i), expr: q.expr, legendFormat: q.legend, datasource })),
    fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
  };
}

function queryVariable(spec: QueryVariableSpec): QueryVariable {
  return {
    name: spec.name,
    label: spec.label,
    type: 'query',
    datasource,
    query: { query: spec.query, refId: spec.name },
    definition: spec.query,
    includeAll: true,
    multi: true,
    allValue: '.*',
    current: { text: 'All', value: '$__all' },
    refresh: 2,
    sort: 1,
    hide: 0,
  };
}

/** Lays the rows out top to bottom, each row's panels three to a line, and writes the JSON model. */
export function dashboard(spec: DashboardSpec): Dashboard {
  const panels: Panel[] = [];
  let y = 0;
  for (const r of spec.rows) {
    panels.push({ id: panelId(r.uid), uid: r.uid, type: 'row', title: r.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    r.panels.forEach((p, i) => {
      panels.push(timeseriesPanel(p, { x: (i % PER_LINE) * PANEL_W, y: y + Math.floor(i / PER_LINE) * PANEL_H, w: PANEL_W, h: PANEL_H }));
    });
    y += Math.ceil(r.panels.length / PER_LINE) * PANEL_H;
  }
  return {
    __inputs: [{ name: 'DS_PROMETHEUS', label: 'Prometheus', type: 'datasource', pluginId: 'prometheus', pluginName: 'Prometheus' }],
    title: spec.title,
    uid: spec.uid,
    tags: spec.tags,
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    editable: true,
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }, ...spec.variables.map(queryVariable)],
    },
    annotations: { list: [] },
    panels,
  };
}

/** The file's text: two-space JSON and a final newline. */
export const render = (d: Dashboard): string => `${JSON.stringify(d, null, 2)}\n`;
