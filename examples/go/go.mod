module halfcast.example/go

go 1.19
