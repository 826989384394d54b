-- GETs of the signing page as a phone asks for it (gzip, a language), for scripts/bench: the same script
-- against intake and against nginx serving the same bytes. Prints the same summary line as sign.lua (summary.lua).
wrk.method = "GET"
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"
wrk.headers["Accept-Language"] = "en-GB,en;q=0.9"

dofile("bench/wrk/summary.lua")  -- done(): the summary line
