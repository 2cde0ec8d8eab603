package queue

import (
	"fmt"
	"strings"

	badger "github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewBadgerLogger adapts a zap logger to Badger's printf-style Logger. Errors and
// warnings keep their level; Badger's info messages (every compaction and memtable
// flush) go to debug, as do its debug messages.
func NewBadgerLogger(l *zap.Logger) badger.Logger {
	// Skip log, the Logger method and badger.Options' forwarding method, so that
	// the caller is the line in Badger that logged.
	return badgerLogger{l: l.WithOptions(zap.AddCallerSkip(3))}
}

type badgerLogger struct{ l *zap.Logger }

func (b badgerLogger) Errorf(format string, args ...any) {
	b.log(zapcore.ErrorLevel, format, args)
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.log(zapcore.WarnLevel, format, args)
}

func (b badgerLogger) Infof(format string, args ...any) {
	b.log(zapcore.DebugLevel, format, args)
}

func (b badgerLogger) Debugf(format string, args ...any) {
	b.log(zapcore.DebugLevel, format, args)
}

// log formats only when the level is enabled: Badger logs on hot paths.
func (b badgerLogger) log(level zapcore.Level, format string, args []any) {
	if !b.l.Core().Enabled(level) {
		return
	}
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	if ce := b.l.Check(level, msg); ce != nil {
		ce.Write()
	}
}
