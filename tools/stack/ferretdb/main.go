// Command ferretdb runs FerretDB v1 through its embeddable package, behind a proxy that runs one
// command at a time, on SQLite (the local stack's) or, with -postgresql-url, on PostgreSQL (for
// bench:backends, which compares the two).
//
// Why the wrapper: `go install` of the upstream cmd/ferretdb panics at start-up because the module
// zip lacks build/version/version.txt; the embeddable package skips that check.
//
// Why the proxy: FerretDB v1 applies an update by reading the document and writing it back in
// separate steps, so two concurrent updates of one document lose one of them (measured: 16 of 30
// rounds of three concurrent updates), and a conditional update is no compare-and-set. MongoDB
// makes every single-document write atomic, and keyward relies on that. Running the commands of
// all clients one after another restores it for this local stand-in.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

const (
	opMsg        = 2013
	moreToCome   = 1 << 1
	maxMessageMB = 48
	slowCommand  = 5 * time.Second
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite directory URI (trailing slash)")
	postgresqlURL := flag.String("postgresql-url", "", "PostgreSQL URL: use the postgresql backend instead of SQLite")
	socket := flag.String("backend-socket", "", "Unix socket for FerretDB itself (default: in the temp dir)")
	flag.Parse()

	if *socket == "" {
		*socket = filepath.Join(os.TempDir(), fmt.Sprintf("keyward-ferretdb-%d.sock", os.Getpid()))
	}
	_ = os.Remove(*socket)

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	config := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: *socket},
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
		Logger:    logger,
	}
	backend := *sqliteURL
	if *postgresqlURL != "" {
		config.Handler, config.PostgreSQLURL, backend = "postgresql", *postgresqlURL, *postgresqlURL
	}
	f, err := ferretdb.New(config)
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	proxy := &serialProxy{backend: *socket}
	go proxy.serve(ln)

	log.Printf("ferretdb listening on %s (commands serialized), %s backend %s", *listen, config.Handler, backend)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
	_ = os.Remove(*socket)
}

// serialProxy forwards MongoDB wire messages to FerretDB, holding one lock from a request until
// its last reply has been read, so commands from all connections run one at a time.
type serialProxy struct {
	backend string
	mu      sync.Mutex
}

func (p *serialProxy) serve(ln net.Listener) {
	for {
		client, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Printf("accept: %v", err)
			continue
		}
		go p.handle(client)
	}
}

func (p *serialProxy) handle(client net.Conn) {
	defer client.Close()
	backend, err := net.Dial("unix", p.backend)
	if err != nil {
		log.Printf("backend: %v", err)
		return
	}
	defer backend.Close()
	fromClient := bufio.NewReader(client)
	fromBackend := bufio.NewReader(backend)
	for {
		request, err := readMessage(fromClient)
		if err != nil {
			return
		}
		if err := p.roundTrip(request, backend, fromBackend, client); err != nil {
			return
		}
	}
}

func (p *serialProxy) roundTrip(request []byte, backend net.Conn, fromBackend *bufio.Reader, client net.Conn) error {
	replies, err := p.exchange(request, backend, fromBackend)
	if err != nil {
		return err
	}
	// Written after the lock is released: a client that stops reading (a paused or wedged
	// process) then stalls only its own connection, not every client of the database.
	for _, reply := range replies {
		if _, err := client.Write(reply); err != nil {
			return err
		}
	}
	return nil
}

// exchange sends one request to FerretDB and reads all of its replies, holding the lock that
// makes commands run one at a time.
func (p *serialProxy) exchange(request []byte, backend net.Conn, fromBackend *bufio.Reader) ([][]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	defer func() {
		// Every other client waits this long: worth a line when a test or bench stalls.
		if held := time.Since(start); held > slowCommand {
			log.Printf("one command held the database for %s", held.Round(time.Millisecond))
		}
	}()
	if _, err := backend.Write(request); err != nil {
		return nil, err
	}
	if hasMoreToCome(request) {
		return nil, nil // fire-and-forget request: no reply follows
	}
	var replies [][]byte
	for {
		reply, err := readMessage(fromBackend)
		if err != nil {
			return nil, err
		}
		replies = append(replies, reply)
		if !hasMoreToCome(reply) {
			return replies, nil
		}
	}
}

// readMessage reads one whole wire message: a little-endian int32 length, then the rest.
func readMessage(r *bufio.Reader) ([]byte, error) {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return nil, err
	}
	length := int(binary.LittleEndian.Uint32(header[:]))
	if length < 16 || length > maxMessageMB<<20 {
		return nil, fmt.Errorf("bad message length %d", length)
	}
	message := make([]byte, length)
	copy(message, header[:])
	if _, err := io.ReadFull(r, message[4:]); err != nil {
		return nil, err
	}
	return message, nil
}

// hasMoreToCome reports an OP_MSG with the moreToCome flag: the sender expects no reply to it,
// or (on a reply) further replies follow.
func hasMoreToCome(message []byte) bool {
	if len(message) < 20 || binary.LittleEndian.Uint32(message[12:16]) != opMsg {
		return false
	}
	return binary.LittleEndian.Uint32(message[16:20])&moreToCome != 0
}
