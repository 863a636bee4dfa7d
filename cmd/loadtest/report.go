package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// results is a finished run.
type results struct {
	elapsed     time.Duration
	samples     map[string][]sample // by operation, in time order per worker
	propagation []time.Duration
	errs        map[string]int
	firstErr    string
}

// ops is the order operations are reported in.
var ops = []string{opValidate, opRefresh, opLogin, opLogout}

func merge(recs []*recorder, elapsed time.Duration) *results {
	r := &results{elapsed: elapsed, samples: map[string][]sample{}, errs: map[string]int{}}
	for _, rec := range recs {
		for _, s := range rec.samples {
			r.samples[s.op] = append(r.samples[s.op], s)
		}
		r.propagation = append(r.propagation, rec.propagation...)
		for op, n := range rec.errs {
			r.errs[op] += n
		}
		if r.firstErr == "" {
			r.firstErr = rec.firstErr
		}
	}
	return r
}

func (r *results) errors() int {
	n := 0
	for _, e := range r.errs {
		n += e
	}
	return n
}

// percentile returns the p-quantile (0..1) of sorted durations (nearest
// rank), or 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func durations(ss []sample) []time.Duration {
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = s.dur
	}
	slices.Sort(d)
	return d
}

// writeTable prints one row per operation and one for propagation.
func (r *results) writeTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\trequests\tper second\tp50\tp90\tp99\tmax\terrors\t")
	secs := r.elapsed.Seconds()
	total := 0
	for _, op := range ops {
		d := durations(r.samples[op])
		total += len(d)
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%d\t\n", op, len(d), float64(len(d))/secs,
			ms(percentile(d, 0.5)), ms(percentile(d, 0.9)), ms(percentile(d, 0.99)), ms(percentile(d, 1)), r.errs[op])
	}
	p := slices.Clone(r.propagation)
	slices.Sort(p)
	fmt.Fprintf(tw, "propagation\t%d\t\t%s\t%s\t%s\t%s\t%d\t\n", len(p),
		ms(percentile(p, 0.5)), ms(percentile(p, 0.9)), ms(percentile(p, 0.99)), ms(percentile(p, 1)), r.errs["propagation"])
	fmt.Fprintf(tw, "all\t%d\t%.1f\t\t\t\t\t%d\t\n", total, float64(total)/secs, r.errors())
	tw.Flush()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// plot writes latency.png (p50 and p99 per operation, per second of the
// run) and propagation.png (histogram) into dir.
func (r *results) plot(dir, title string) ([]string, error) {
	lat := plot.New()
	lat.Title.Text = "latency over time: " + title
	lat.X.Label.Text = "seconds into the run"
	lat.Y.Label.Text = "ms (log scale)"
	lat.Y.Scale = plot.LogScale{}
	lat.Y.Tick.Marker = plot.LogTicks{}
	lat.Legend.Top = true
	i := 0
	for _, op := range ops {
		for _, q := range []float64{0.5, 0.99} {
			pts := perSecond(r.samples[op], q)
			if len(pts) == 0 {
				continue
			}
			l, err := plotter.NewLine(pts)
			if err != nil {
				return nil, err
			}
			l.Color = plotutil.Color(i / 2)
			if q > 0.5 {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			lat.Add(l)
			lat.Legend.Add(fmt.Sprintf("%s p%.0f", op, 100*q), l)
			i++
		}
	}
	files := []string{filepath.Join(dir, "latency.png"), filepath.Join(dir, "propagation.png")}
	if err := lat.Save(9*vg.Inch, 5*vg.Inch, files[0]); err != nil {
		return nil, fmt.Errorf("writing %s: %w", files[0], err)
	}

	h := plot.New()
	h.Title.Text = "revocation propagation (logout answer → microservice refuses): " + title
	h.X.Label.Text = "ms"
	h.Y.Label.Text = "logouts"
	vals := make(plotter.Values, len(r.propagation))
	for i, d := range r.propagation {
		vals[i] = float64(d) / float64(time.Millisecond)
	}
	if len(vals) > 0 {
		hist, err := plotter.NewHist(vals, 30)
		if err != nil {
			return nil, err
		}
		hist.FillColor = color.RGBA{R: 70, G: 110, B: 180, A: 255}
		h.Add(hist)
	}
	if err := h.Save(8*vg.Inch, 3*vg.Inch, files[1]); err != nil {
		return nil, fmt.Errorf("writing %s: %w", files[1], err)
	}
	return files, nil
}

// perSecond returns the q-quantile latency (ms) of each whole second of
// the run that has samples.
func perSecond(ss []sample, q float64) plotter.XYs {
	buckets := map[int][]time.Duration{}
	for _, s := range ss {
		sec := int(s.at / time.Second)
		buckets[sec] = append(buckets[sec], s.dur)
	}
	secs := make([]int, 0, len(buckets))
	for s := range buckets {
		secs = append(secs, s)
	}
	slices.Sort(secs)
	var pts plotter.XYs
	for _, s := range secs {
		d := buckets[s]
		slices.Sort(d)
		v := float64(percentile(d, q)) / float64(time.Millisecond)
		pts = append(pts, plotter.XY{X: float64(s) + 0.5, Y: math.Max(v, 0.001)})
	}
	return pts
}
