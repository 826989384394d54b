import Ctl

Undersigned.main()
