package server

import (
	"strconv"
	"time"
)

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func nowNano() int64 { return time.Now().UnixNano() }
