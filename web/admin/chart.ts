// A chart of daily figures (uPlot on a canvas), with a caption, a short text summary for screen
// readers and the same figures as a table under a disclosure. The chart follows its container's
// width and is destroyed once it leaves the page.

import uPlot from "uplot";
import { h, uniqueId } from "./dom";
import { MISSING } from "./format";

export interface DailySeries {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: number[]; // so lines differ by more than colour
}

export interface DailyChart {
  title: string;
  days: string[]; // "YYYY-MM-DD", UTC
  series: DailySeries[];
  unit: "percent" | "count";
  bars?: boolean;
  summary: string; // what the chart shows, in a sentence, for assistive technology
}

const DAY = 86400;
const AXIS = {
  stroke: "#3b434d",
  grid: { stroke: "#e3e6ea", width: 1 },
  ticks: { stroke: "#c9ced6", width: 1 },
};

function daySeconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

function valueText(unit: DailyChart["unit"], v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return MISSING;
  return unit === "percent" ? `${Math.round(v * 10) / 10}%` : String(Math.round(v));
}

// The figure element; call it once the figure is in the document (uPlot measures its width).
export function dailyChart(spec: DailyChart): { figure: HTMLElement; mount: () => void } {
  const captionId = uniqueId("chart");
  const plotBox = h("div", { class: "plot", role: "img", "aria-label": spec.summary });
  const head = h(
    "tr",
    {},
    h("th", { scope: "col" }, "Day"),
    ...spec.series.map((s) => h("th", { scope: "col" }, s.label)),
  );
  const rows = spec.days.map((day, i) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, day),
      ...spec.series.map((s) => h("td", {}, valueText(spec.unit, s.values[i]))),
    ),
  );
  const figure = h(
    "figure",
    { class: "chart", "aria-labelledby": captionId },
    h("figcaption", { id: captionId }, spec.title),
    plotBox,
    h(
      "details",
      { class: "chart-table" },
      h("summary", {}, "Show the figures as a table"),
      h(
        "div",
        { class: "table-scroll" },
        h("table", {}, h("caption", {}, spec.title), h("thead", {}, head), h("tbody", {}, ...rows)),
      ),
    ),
  );

  const mount = (): void => {
    const x = spec.days.map(daySeconds);
    const data: uPlot.AlignedData = [x, ...spec.series.map((s) => s.values)];
    const width = (): number => Math.max(240, plotBox.clientWidth);
    const bars = spec.bars ? uPlot.paths.bars?.({ size: [0.6, 48] }) : undefined;
    const percent = spec.unit === "percent";
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        cursor: { drag: { x: false, y: false } },
        // The legend names the lines; the values are in the table below.
        legend: { live: false },
        scales: {
          // Half a day either side of the first and last day, from the days themselves: uPlot
          // stretches a one-point time scale to 1000 days (86400 / ms), which would pin a
          // first day's figures to the left edge under month labels.
          x: { time: true, range: () => [x[0] - DAY / 2, x[x.length - 1] + DAY / 2] },
          y: percent
            ? { range: [0, 100] }
            : { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        },
        axes: [
          // Ticks fall on whole days, labelled with the date (the legend gives the year).
          {
            ...AXIS,
            space: 64,
            incrs: [1, 2, 7, 14, 28, 56, 91, 182, 364].map((d) => d * DAY),
            values: "{MMM} {D}",
          },
          {
            ...AXIS,
            size: 56,
            // Counts tick on whole numbers (1, 2, 5, 10, 20...): a first day's one question is
            // not "0.2, 0.4...".
            incrs: percent
              ? undefined
              : Array.from({ length: 24 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3)),
            values: (_u, ticks) => ticks.map((t) => (percent ? `${t}%` : `${t}`)),
          },
        ],
        series: [
          { label: "Day", value: "{YYYY}-{MM}-{DD}" },
          ...spec.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            dash: s.dash,
            fill: spec.bars ? `${s.color}cc` : undefined,
            paths: bars,
            points: { show: !spec.bars, size: 6, fill: s.color },
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => valueText(spec.unit, v),
          })),
        ],
      },
      data,
      plotBox,
    );
    const observer = new ResizeObserver(() => {
      if (!plotBox.isConnected) {
        observer.disconnect();
        plot.destroy();
        return;
      }
      if (Math.abs(plot.width - width()) > 1) plot.setSize({ width: width(), height: 240 });
    });
    observer.observe(plotBox);
  };
  return { figure, mount };
}
