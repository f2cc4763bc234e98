// The console page: loads the state once, then applies the live stream to every view.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { openStream, token } from './api.js';
import { Charts } from './charts.js';
import { byId, notify } from './dom.js';
import { Logs } from './logs.js';
import { renderMap } from './map.js';
import { renderTasks } from './tasks.js';
import { renderTopics } from './topics.js';
import { Traces } from './traces.js';
import type { ConsoleSnapshot, LogLine, MetricSample, ScaleDecision, TopicView } from '../source.js';

interface State {
  snapshot: ConsoleSnapshot; history: Record<string, MetricSample[]>; logs: LogLine[];
  decisions: ScaleDecision[]; topics: TopicView[]; topicsError: string | null; windowMs: number;
}

function start(): void {
  if (!token) {
    const n = byId('notice');
    n.textContent = 'Open the console with the URL that `archipelago up` printed (it carries the access token).';
    n.className = 'error';
    n.hidden = false;
    return;
  }
  const charts = new Charts(byId('charts'));
  const logs = new Logs();
  const traces = new Traces();
  logs.onTrace = (id) => { void traces.open(id); byId('traces-section').scrollIntoView(); };
  traces.start();
  let snapshot: ConsoleSnapshot | undefined;
  const showSnapshot = (s: ConsoleSnapshot) => {
    snapshot = s;
    byId('service-name').textContent = s.service;
    document.title = `${s.service} · archipelago`;
    renderMap(byId('map').querySelector('tbody')!, s);
    renderTasks(byId('tasks'), s);
    charts.syncUnits(s.units);
  };
  const conn = byId('conn');
  openStream({
    state: (s: State) => {
      showSnapshot(s.snapshot);
      charts.reset(s.snapshot.units, s.history, s.decisions, s.windowMs);
      logs.reset(s.logs);
      renderTopics(byId('topics').querySelector('tbody')!, s.topics, s.topicsError);
      document.body.dataset.ready = 'true';
    },
    snapshot: showSnapshot,
    sample: (m: { samples: Record<string, MetricSample> }) => {
      charts.addSamples(m.samples);
      // Relative times ("next in 42s") age between snapshots.
      if (snapshot) renderTasks(byId('tasks'), snapshot);
    },
    topics: (m: { topics: TopicView[]; error: string | null }) => renderTopics(byId('topics').querySelector('tbody')!, m.topics, m.error),
    log: (l: LogLine) => logs.add(l),
    decision: (d: ScaleDecision) => charts.addDecision(d),
  }, (status) => {
    conn.textContent = status;
    conn.className = `badge ${status === 'live' ? 'healthy' : status === 'refused' ? 'down' : 'degraded'}`;
    if (status === 'refused') notify('This console link is from an earlier run: open the URL that `archipelago up` printed this time.', 'error', true);
  });
}

start();
