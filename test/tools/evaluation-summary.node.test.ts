import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dice, perImageMeanDice, quartiles, resultTable } from '../../tools/evaluation-summary.js';
import { dicePlot } from '../../tools/dice-plot.js';

test('quartiles interpolate between order statistics like numpy.percentile', () => {
  // numpy.percentile([4, 1, 3, 2], [25, 50, 75]) = [1.75, 2.5, 3.25]
  assert.deepEqual(quartiles([4, 1, 3, 2]), { median: 2.5, q1: 1.75, q3: 3.25, n: 4 });
  // numpy.percentile([10, 0, 5, 7, 1], [25, 50, 75]) = [1, 5, 7]
  assert.deepEqual(quartiles([10, 0, 5, 7, 1]), { median: 5, q1: 1, q3: 7, n: 5 });
  assert.deepEqual(quartiles([0.3]), { median: 0.3, q1: 0.3, q3: 0.3, n: 1 });
  assert.equal(quartiles([]).n, 0);
  // Against counting: a quarter of the values lie at or below q1, up to interpolation.
  const values = Array.from({ length: 401 }, (_, i) => (Math.sin(i * 12.9898) * 43758.5453) % 1);
  const q = quartiles(values);
  const below = (t: number) => values.filter((v) => v <= t).length;
  assert.equal(below(q.q1), 101);
  assert.equal(below(q.median), 201);
  assert.equal(below(q.q3), 301);
});

test('Dice from pooled counts, with the empty case', () => {
  assert.equal(dice({ overlap: 30, predicted: 40, truth: 50 }), 60 / 90);
  assert.equal(dice({ overlap: 0, predicted: 0, truth: 0 }), 1);
  assert.equal(dice({ overlap: 0, predicted: 10, truth: 0 }), 0);
});

test('per-image mean Dice weighs images equally and leaves out those without the class', () => {
  const images = [
    { overlap: 90, predicted: 100, truth: 100 }, // 0.9, a large image
    { overlap: 1, predicted: 4, truth: 6 }, // 0.2, a small one
    { overlap: 0, predicted: 30, truth: 0 }, // no class: left out, though pooled Dice pays for its 30
  ];
  assert.ok(Math.abs(perImageMeanDice(images) - (0.9 + 0.2) / 2) < 1e-12);
  assert.ok(Number.isNaN(perImageMeanDice([{ overlap: 0, predicted: 5, truth: 0 }])));
});

test('the table and the plot carry every class and shot', () => {
  const q = (m: number) => ({ median: m, q1: m - 0.1, q3: m + 0.1, n: 10 });
  const classes = ['a', 'b'].map((name, i) => ({
    name,
    shots: { 1: { logistic: q(0.2 + i / 10), bfgs: q(0.3 + i / 10) }, 5: { logistic: q(0.4), bfgs: q(0.5) } },
    upperBound: q(0.7),
  }));
  const table = resultTable(classes, [1, 5]);
  assert.match(
    table,
    /\| a +\| 20\.00 \[10\.00–30\.00\] \| 30\.00 \[20\.00–40\.00\] \| 40\.00 \[30\.00–50\.00\] \| 50\.00 \[40\.00–60\.00\] \| 70\.00 \[60\.00–80\.00\] \|/,
  );
  assert.equal(table.split('\n').length, 4);
  const svg = dicePlot(classes, [1, 5], 'test <plot>');
  assert.match(svg, /^<svg [^>]*viewBox="0 0 520 250"/);
  assert.match(svg, /test &lt;plot&gt;/);
  // Per class: 2 series × 2 shots of median dots, one line per series, one upper bound.
  assert.equal(svg.match(/<circle /g)?.length, 8);
  assert.equal(svg.match(/<polyline /g)?.length, 4);
  assert.equal(svg.match(/stroke-dasharray="5 3"/g)?.length, 3);
});
