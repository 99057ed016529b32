using IdentityHub.Benchmarks;

// "generate PLAN RESULT": the load generator process; anything else: the benchmark itself.
return args.Length > 0 && args[0] == "generate"
    ? await LoadGenerator.RunAsync(args[1..])
    : await BenchmarkRunner.RunAsync(args);
