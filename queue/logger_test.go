package queue

import (
	"runtime"
	"testing"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestBadgerLoggerMapsLevels(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := NewBadgerLogger(zap.New(core))

	l.Errorf("Error while %s: %d\n", "syncing", 5)
	l.Warningf("Stalling writes")
	l.Infof("Flushing memtable, mt.size=%d", 10)
	l.Debugf("writeRequests called")

	entries := logs.AllUntimed()
	require.Len(t, entries, 4)
	want := []struct {
		level zapcore.Level
		msg   string
	}{
		{zapcore.ErrorLevel, "Error while syncing: 5"},
		{zapcore.WarnLevel, "Stalling writes"},
		{zapcore.DebugLevel, "Flushing memtable, mt.size=10"},
		{zapcore.DebugLevel, "writeRequests called"},
	}
	for i, w := range want {
		assert.Equal(t, w.level, entries[i].Level)
		assert.Equal(t, w.msg, entries[i].Message)
	}
}

func TestBadgerLoggerSkipsDisabledLevels(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	l := NewBadgerLogger(zap.New(core))
	l.Infof("chatty")
	l.Debugf("chattier")
	l.Warningf("kept")
	assert.Equal(t, 1, logs.Len())
}

func TestBadgerLoggerReportsBadgersCallSite(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	opt := badger.DefaultOptions("").WithLogger(NewBadgerLogger(zap.New(core, zap.AddCaller())))

	_, file, line, _ := runtime.Caller(0)
	opt.Warningf("stalling writes") // Badger logs through its Options, as here.

	require.Equal(t, 1, logs.Len())
	c := logs.All()[0].Caller
	assert.Equal(t, file, c.File)
	assert.Equal(t, line+1, c.Line)
}
