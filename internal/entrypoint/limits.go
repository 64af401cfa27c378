package entrypoint

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// The limits of one render. A Dex configuration renders in milliseconds,
// calls a defined template a few times at most, and its functions produce
// kilobytes; these limits stop a hostile or mistaken template long before
// it could hold start-up or the machine's memory.
const (
	// MaxTemplateSize caps the size of a template file.
	MaxTemplateSize = 4 << 20
	// maxOutputSize caps the size of a rendered file.
	maxOutputSize = 16 << 20
	// renderTimeout bounds the time of one render.
	renderTimeout = 10 * time.Second
	// functionBudget caps what the functions of one render produce in all,
	// counted before they allocate.
	functionBudget = 64 << 20
	// maxTemplateCalls caps how many times one render enters a template
	// body, which bounds the depth of a template that calls itself.
	maxTemplateCalls = 10000
)

var (
	// ErrTooLarge reports a template, a rendered file or what a template's
	// functions produce over its size limit.
	ErrTooLarge = errors.New("too large")
	// ErrTooLong reports a render stopped by its time limit or by its limit
	// of template calls.
	ErrTooLong = errors.New("took too long")
)

// limitsFunc is the function that bound adds to template bodies and range
// loops. It is added to a template only after parsing, so that a template
// cannot call it.
const limitsFunc = "_renderLimits"

// rangeFunc is the function that bound puts at the end of the pipeline of
// every range, also added only after parsing: it passes on what range
// iterates over, and refuses anything else with an error naming its type,
// where text/template's own error would print the value, which may be a
// secret.
const rangeFunc = "_renderRange"

// run is the state of one render: its environment, and what remains of its
// time and of what its functions may produce.
type run struct {
	env      map[string]string
	deadline time.Time
	timeout  time.Duration
	budget   int64
	left     int64
	calls    int
	// stopped is the error that stopped the render at a limit of time or of
	// calls, for Render to report in place of text/template's wrapping.
	stopped error
}

func (r *Renderer) newRun() *run {
	timeout, budget := r.timeout, r.budget
	if timeout <= 0 {
		timeout = renderTimeout
	}
	if budget <= 0 {
		budget = functionBudget
	}
	env := make(map[string]string, len(r.Env))
	for k, v := range r.Env {
		env[k] = v
	}
	return &run{
		env:      env,
		deadline: time.Now().Add(timeout),
		timeout:  timeout,
		budget:   budget,
		left:     budget,
	}
}

// check returns an error once the render is past its deadline.
func (x *run) check() error {
	if x.stopped != nil {
		return x.stopped
	}
	if time.Now().After(x.deadline) {
		x.stopped = fmt.Errorf("%w: rendering stopped at its limit of %s (look for a range over a large number)", ErrTooLong, x.timeout)
		return x.stopped
	}
	return nil
}

// charge counts n bytes that the function fn is about to produce, and
// refuses them, before they are allocated, once the render's functions
// would produce more than the budget in all. It also checks the deadline.
func (x *run) charge(fn string, n int64) error {
	if err := x.check(); err != nil {
		return err
	}
	if n > x.left {
		return fmt.Errorf("%s: %w: its result would pass the %d MiB that the functions of one render may produce", fn, ErrTooLarge, x.budget>>20)
	}
	x.left -= n
	return nil
}

// refund returns n bytes that a charge counted but that were not used.
func (x *run) refund(n int64) { x.left = min(x.left+n, x.budget) }

// enter is limitsFunc: it runs at the start of every template body and of
// every iteration of a range, so that neither a loop nor a template that
// calls itself outlives the deadline.
func (x *run) enter(templateBody bool) (string, error) {
	if templateBody {
		x.calls++
		if x.calls > maxTemplateCalls {
			x.stopped = fmt.Errorf("%w: templates were entered %d times, the limit (does a template call itself?)", ErrTooLong, maxTemplateCalls)
			return "", x.stopped
		}
	}
	return "", x.check()
}

// bound adds a call of limitsFunc at the start of every template body and
// of every range body of t's templates, and a call of rangeFunc at the end
// of every range's pipeline. The calls print nothing.
func (x *run) bound(t *template.Template) {
	t.Funcs(template.FuncMap{limitsFunc: x.enter, rangeFunc: rangeOver})
	for _, tmpl := range t.Templates() {
		if tmpl.Tree == nil || tmpl.Tree.Root == nil {
			continue
		}
		addLimitCall(tmpl.Tree.Root, true)
		walkLists(tmpl.Tree.Root, func(n *parse.RangeNode) {
			if n.List != nil {
				addLimitCall(n.List, false)
			}
			addRangeCheck(n.Pipe)
		})
	}
}

// addRangeCheck puts `| _renderRange vars` last in pipe, the pipeline of a
// range that declares vars variables.
func addRangeCheck(pipe *parse.PipeNode) {
	pos := pipe.Position()
	vars := len(pipe.Decl)
	id := parse.NewIdentifier(rangeFunc).SetPos(pos)
	arg := &parse.NumberNode{NodeType: parse.NodeNumber, Pos: pos, IsInt: true, Int64: int64(vars), Text: strconv.Itoa(vars)}
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id, arg}}
	pipe.Cmds = append(pipe.Cmds, cmd)
}

// rangeOver is rangeFunc: it returns v, the value of a range's pipeline
// that declares vars variables, when range iterates over it (a list, a
// map, a channel, an iterator, a number, or nil, which runs the range's
// else), else an error that names v's type, not its value.
func rangeOver(vars int, v any) (any, error) {
	if _, ok := v.(*tmplContext); ok {
		return nil, &rangeError{"range over the template's data (.): it holds only .Env"}
	}
	rv := reflect.ValueOf(v)
	// range looks through pointers, as fmt does.
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Invalid, reflect.Array, reflect.Slice, reflect.Map, reflect.Chan:
		return v, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if vars > 1 {
			return nil, &rangeError{fmt.Sprintf("range over a number (%s) with %d variables: it gives one value", rv.Type(), vars)}
		}
		return v, nil
	case reflect.Func:
		if rv.Type().CanSeq() || rv.Type().CanSeq2() {
			return v, nil
		}
	}
	return nil, &rangeError{fmt.Sprintf("range over a value of type %s: it is not a list, map or number", reflect.TypeOf(v))}
}

// rangeError is rangeOver's error.
type rangeError struct{ msg string }

func (e *rangeError) Error() string { return e.msg }

// in returns err, text/template's error for a call of rangeFunc that
// returned e, as it reads for the range itself: `... at <range>: e`.
func (e *rangeError) in(err error) error {
	msg := err.Error()
	i := strings.LastIndex(msg, " at <"+rangeFunc)
	if i < 0 {
		return err
	}
	return fmt.Errorf("%s at <range>: %w", msg[:i], e)
}

// addLimitCall puts {{ _renderLimits templateBody }} first in list.
func addLimitCall(list *parse.ListNode, templateBody bool) {
	pos := list.Position()
	id := parse.NewIdentifier(limitsFunc).SetPos(pos)
	arg := &parse.BoolNode{NodeType: parse.NodeBool, Pos: pos, True: templateBody}
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id, arg}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}
	action := &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: pipe}
	list.Nodes = append([]parse.Node{action}, list.Nodes...)
}

// walkLists calls f for every range node under list.
func walkLists(list *parse.ListNode, f func(*parse.RangeNode)) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.ListNode:
			walkLists(n, f)
		case *parse.IfNode:
			walkLists(n.List, f)
			walkLists(n.ElseList, f)
		case *parse.WithNode:
			walkLists(n.List, f)
			walkLists(n.ElseList, f)
		case *parse.RangeNode:
			walkLists(n.List, f)
			walkLists(n.ElseList, f)
			f(n)
		}
	}
}

// limitedBuffer is the rendered file: it refuses to grow past max, and
// stops the render at its deadline.
type limitedBuffer struct {
	bytes.Buffer
	max int
	run *run
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if err := b.run.check(); err != nil {
		return 0, err
	}
	if b.Len()+len(p) > b.max {
		return 0, errOutputTooLarge
	}
	return b.Buffer.Write(p)
}

// errOutputTooLarge is the write error of a rendered file over its cap.
var errOutputTooLarge = fmt.Errorf("rendered file %w", ErrTooLarge)

// printBound bounds what fmt prints of a value with any verb, less width
// and precision: size bytes in all, of which scalars are values that a
// width pads one by one (strings, numbers, the elements of a []byte, the
// keys and elements of a map).
type printBound struct{ size, scalars int64 }

// sizeBound returns an upper bound of the length of in as fmt formats it
// with any verb, less width and precision: perByte bytes for each byte of
// a string (1 for %v, 6 covers every escaping verb: %q, %x, % x, and the
// html, js and urlquery escapers), and generous room for numbers, type
// names and separators.
func (x *run) sizeBound(in any, perByte int64) int64 {
	return x.measure(in, perByte).size
}

// measure walks in to bound what fmt prints of it (see sizeBound). A
// nested list can hold far more elements than memory, so the walk stops
// once the size passes what is left of the render's budget, which the
// charge that follows refuses, or at the render's deadline, which it
// reports; either way the size returned is then over the budget. It is
// capped at 1 TiB, far over any budget.
func (x *run) measure(in any, perByte int64) printBound {
	w := &sizeWalk{x: x, perByte: perByte, limit: min(x.left, 1<<40)}
	w.value(reflect.ValueOf(in), 0)
	if w.over() {
		w.size = max(w.size, w.limit+1)
	}
	return printBound{size: min(w.size, 1<<40), scalars: w.scalars}
}

// sizeWalk is the state of measure's walk.
type sizeWalk struct {
	x       *run
	perByte int64
	// limit is the size past which the walk stops.
	limit int64
	// size and scalars are what the walk has counted so far.
	size, scalars int64
	// nodes counts the values visited, to check the deadline every
	// deadlineEvery of them.
	nodes int
	// late is set once the walk found the render past its deadline.
	late bool
}

// deadlineEvery is how many values measure visits between two checks
// of the deadline: a check reads the clock, a visit takes nanoseconds.
const deadlineEvery = 1024

// over reports whether the walk must stop: its size passed the limit, or
// the render its deadline.
func (w *sizeWalk) over() bool {
	if w.late || w.size > w.limit {
		return true
	}
	w.nodes++
	if w.nodes%deadlineEvery == 0 && w.x.check() != nil {
		w.late = true
	}
	return w.late
}

// scalar counts one value that fmt prints as n bytes.
func (w *sizeWalk) scalar(n int64) {
	w.size += n
	w.scalars++
}

func (w *sizeWalk) value(v reflect.Value, depth int) {
	// number is more than the longest number fmt prints without width or
	// precision: %f of the largest float64 has 309 digits.
	const number = 336
	// container is room for a type name, as %#v prints it.
	const container = 64
	if w.over() {
		return
	}
	if !v.IsValid() {
		w.scalar(16)
		return
	}
	switch v.Kind() {
	case reflect.String:
		w.scalar(2 + w.perByte*int64(v.Len()))
	case reflect.Slice, reflect.Array:
		w.size += container
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// %v prints every byte as a number, which a width pads.
			w.size += max(w.perByte, 4) * int64(v.Len())
			w.scalars += int64(v.Len())
			return
		}
		for i := range v.Len() {
			if w.over() {
				return
			}
			w.size += 4
			w.value(v.Index(i), depth+1)
		}
	case reflect.Map:
		w.size += container
		iter := v.MapRange()
		for iter.Next() {
			if w.over() {
				return
			}
			w.size += 4
			w.value(iter.Key(), depth+1)
			w.value(iter.Value(), depth+1)
		}
	case reflect.Interface:
		if v.IsNil() {
			w.scalar(16)
			return
		}
		w.value(v.Elem(), depth)
	case reflect.Pointer:
		// fmt prints what a pointer points to at the top level only, and an
		// address below it.
		if v.IsNil() || depth > 0 {
			w.scalar(24)
			return
		}
		w.size++
		w.value(v.Elem(), depth+1)
	case reflect.Struct:
		w.size += container
		for i := range v.NumField() {
			w.size += 4 + int64(len(v.Type().Field(i).Name))
			w.value(v.Field(i), depth+1)
		}
	default:
		w.scalar(number)
	}
}

// mulCap multiplies two non-negative sizes, saturating at 1 TiB.
func mulCap(a, b int64) int64 {
	const limit = 1 << 40
	if a == 0 || b == 0 {
		return 0
	}
	if a > limit/b {
		return limit
	}
	return a * b
}
