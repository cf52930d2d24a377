// Threads.java - JVM threads: an atomic counter hammered by 4 threads, a
// fixed thread pool whose loops get JIT-compiled, monitors with notifyAll,
// and the implicit null and bounds checks the JVM implements with SIGSEGV.
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
public class Threads {
    static long work(int seed) {
        long s = seed;
        for (int i = 0; i < 2_000_000; i++) { s = s * 6364136223846793005L + 1442695040888963407L; s ^= (s >>> 17); }
        return s;
    }
    public static void main(String[] a) throws Exception {
        AtomicLong counter = new AtomicLong();
        Thread[] ts = new Thread[4];
        for (int t = 0; t < 4; t++) {
            ts[t] = new Thread(() -> { for (int i = 0; i < 100000; i++) counter.incrementAndGet(); });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        System.out.println("counter " + counter.get());
        ExecutorService ex = Executors.newFixedThreadPool(3);
        java.util.List<Future<Long>> fs = new java.util.ArrayList<>();
        for (int i = 0; i < 6; i++) { final int k = i; fs.add(ex.submit(() -> work(k))); }
        for (Future<Long> f : fs) System.out.println("work " + f.get());
        ex.shutdown();
        Object lock = new Object();
        int[] box = {0};
        Thread p = new Thread(() -> { for (int i = 0; i < 1000; i++) synchronized (lock) { box[0]++; lock.notifyAll(); } });
        p.start(); p.join();
        System.out.println("sync " + box[0]);
        String s = null;
        try { s.length(); } catch (NullPointerException e) { System.out.println("npe caught"); }
        int[] arr = new int[2];
        try { arr[5] = 1; } catch (ArrayIndexOutOfBoundsException e) { System.out.println("aioobe caught"); }
    }
}
