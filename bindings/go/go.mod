module halfcast.example/halfcast

go 1.19
