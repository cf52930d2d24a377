// Command goprog exercises the Go runtime under tern: goroutines, channels,
// sync.WaitGroup, a call-free loop that only yields through asynchronous
// preemption (SIGURG), and os/signal with SIGUSR1 and SIGINT sent to self.
// Its output does not depend on scheduling; SHOW_TIME=1 prints on stderr
// how long the preempted loop took.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func spin(n int) uint64 {
	var s uint64 = 1
	for i := 0; i < n; i++ {
		s = s*6364136223846793005 + 1442695040888963407
		s ^= s >> 17
	}
	return s
}

func main() {
	// goroutines + channels + WaitGroup
	ch := make(chan int, 16)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				ch <- g*1000 + i
			}
		}(g)
	}
	go func() { wg.Wait(); close(ch) }()
	sum := 0
	for v := range ch {
		sum += v
	}
	fmt.Println("sum", sum)

	// A tight loop without function calls: the other goroutine only runs
	// once the loop is preempted asynchronously (SIGURG) when GOMAXPROCS=1.
	done := make(chan bool)
	var flag int32
	start := time.Now()
	go func() { time.Sleep(10 * time.Millisecond); atomic.StoreInt32(&flag, 1); done <- true }()
	var s uint64 = 1
	for i := 0; i < 1000000000 && atomic.LoadInt32(&flag) == 0; i++ {
		s = s*6364136223846793005 + 1442695040888963407
	}
	// With one P, the flag is set in time only if the loop was preempted;
	// without asynchronous preemption the loop runs to its bound.
	byFlag := atomic.LoadInt32(&flag) != 0
	<-done
	fmt.Println("loop ended by the other goroutine:", byFlag, s != 0)
	if os.Getenv("SHOW_TIME") != "" {
		fmt.Fprintln(os.Stderr, time.Since(start))
	}

	// Results of parallel work, independent of scheduling.
	res := make([]uint64, 4)
	var wg2 sync.WaitGroup
	for k := 0; k < 4; k++ {
		wg2.Add(1)
		go func(k int) { defer wg2.Done(); res[k] = spin(2000000 + k) }(k)
	}
	wg2.Wait()
	fmt.Println("spin", res)

	// os/signal: SIGUSR1 and SIGINT sent to self.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGINT)
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	syscall.Kill(os.Getpid(), syscall.SIGINT)
	got := []string{(<-sigs).String(), (<-sigs).String()}
	sort.Strings(got)
	fmt.Println("signals", got)
}
