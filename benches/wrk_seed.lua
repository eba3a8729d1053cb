-- wrk script: POST /predict with the seed body of the README, as the HTTP load figures were measured:
--   housing-flow run pipelines/main.hf   (in one terminal)
--   wrk -t2 -c32 -d15s --latency -s benches/wrk_seed.lua http://127.0.0.1:8000/predict
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{
  "Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
  "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}]]
